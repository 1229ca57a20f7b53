import { compareMessageIds } from '../../common/message-id';
import { MessageStore, StoredMessage } from '../../storage/ports';
import { Consumer } from '../consumer';
import { OutboundMessage } from '../outbound-message';
import { SubscriptionSink, TopicSubscription } from './topic-subscription';

const msg = (n: number, expiresAt: number | null = null): StoredMessage => ({
  id: `1000-${n}`,
  topic: 't',
  payload: { n },
  metadata: {},
  timestamp: new Date(1000).toISOString(),
  expiresAt,
});

/** A store whose reads can be held open, to publish "during" the read. */
class FakeStore {
  log: StoredMessage[] = [];
  gate: Promise<void> | null = null;
  reads = 0;

  async readAfter(_topic: string, after: string | null, limit: number): Promise<StoredMessage[]> {
    this.reads++;
    const snapshot = this.log.filter((m) => after === null || compareMessageIds(m.id, after) > 0);
    if (this.gate) await this.gate;
    return snapshot.slice(0, limit);
  }
}

class FakeSink implements SubscriptionSink {
  readonly consumer = { kind: 'websocket' } as Consumer;
  sent: string[] = [];
  errors: string[] = [];
  congested = (): boolean => false;
  waitForDrain = async (): Promise<void> => undefined;
  delivered = (): void => undefined;

  send(message: OutboundMessage): boolean {
    this.sent.push(message.id);
    return true;
  }

  replayLimitReached(s: TopicSubscription): void {
    this.errors.push(`limit@${s.lastId}`);
    s.close();
  }

  failed(): void {
    this.errors.push('failed');
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('TopicSubscription', () => {
  let store: FakeStore;
  let sink: FakeSink;
  let sut: TopicSubscription;

  function publish(n: number, expiresAt: number | null = null): void {
    const m = msg(n, expiresAt);
    store.log.push(m);
    sut.onMessage(new OutboundMessage(m));
  }

  beforeEach(() => {
    store = new FakeStore();
    sink = new FakeSink();
    sut = new TopicSubscription('t', sink, store as unknown as MessageStore, {
      replayMax: 1000,
      pageSize: 3,
      bufferMax: 100,
    });
  });

  it('replays then goes live without gap or duplicate when messages arrive during the read', async () => {
    for (let n = 1; n <= 4; n++) store.log.push(msg(n));
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    sut.start(true);
    publish(5); // arrives live while the first page is being read (and is in the store)
    publish(6);
    open();
    store.gate = null;
    await flush();
    publish(7);
    expect(sink.sent).toEqual([
      '1000-1',
      '1000-2',
      '1000-3',
      '1000-4',
      '1000-5',
      '1000-6',
      '1000-7',
    ]);
  });

  it('drains the buffer skipping ids at or below the start cursor for offset "last"', () => {
    sut.lastId = '1000-2';
    sut.onMessage(new OutboundMessage(msg(2))); // announced before the cursor was read
    sut.onMessage(new OutboundMessage(msg(3)));
    sut.start(false);
    publish(4);
    expect(sink.sent).toEqual(['1000-3', '1000-4']);
  });

  it('re-reads the store when the buffer overflows during replay', async () => {
    sut = new TopicSubscription('t', sink, store as unknown as MessageStore, {
      replayMax: 1000,
      pageSize: 50,
      bufferMax: 2,
    });
    store.log.push(msg(1));
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    sut.start(true);
    for (let n = 2; n <= 6; n++) publish(n); // overflows the buffer of 2
    open();
    await flush();
    store.gate = null;
    await flush();
    await flush();
    expect(sink.sent).toEqual(['1000-1', '1000-2', '1000-3', '1000-4', '1000-5', '1000-6']);
    expect(store.reads).toBeGreaterThanOrEqual(2);
  });

  it('stops at the replay limit and reports where to resume', async () => {
    sut = new TopicSubscription('t', sink, store as unknown as MessageStore, {
      replayMax: 2,
      pageSize: 3,
      bufferMax: 100,
    });
    for (let n = 1; n <= 5; n++) store.log.push(msg(n));
    sut.start(true);
    await flush();
    expect(sink.sent).toEqual(['1000-1', '1000-2']);
    expect(sink.errors).toEqual(['limit@1000-2']);
  });

  it('never delivers an expired message', async () => {
    store.log.push(msg(1, Date.now() - 1));
    store.log.push(msg(2));
    sut.start(true);
    await flush();
    publish(3, Date.now() - 1);
    publish(4);
    expect(sink.sent).toEqual(['1000-2', '1000-4']);
  });

  it('catches up from the store after a bus resync', async () => {
    sut.start(false);
    publish(1);
    store.log.push(msg(2)); // lost by the bus
    store.log.push(msg(3));
    sut.onResync();
    await flush();
    publish(4);
    expect(sink.sent).toEqual(['1000-1', '1000-2', '1000-3', '1000-4']);
  });

  it('delivers nothing once closed', async () => {
    sut.start(false);
    sut.close();
    publish(1);
    expect(sink.sent).toEqual([]);
  });
});
