import { MessageBus, MessageHandler, StoredMessage } from '../storage/ports';
import { Consumer, FanoutListener } from './consumer';
import { DeliveryMetrics } from './delivery-metrics';
import { Fanout } from './fanout';
import { OutboundMessage } from './outbound-message';

class FakeBus {
  handlers = new Map<string, Set<MessageHandler>>();
  calls: string[] = [];
  failNext = 0;

  async subscribe(topic: string, handler: MessageHandler): Promise<void> {
    this.calls.push(`sub:${topic}`);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('down');
    }
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Set());
    this.handlers.get(topic)!.add(handler);
  }

  async unsubscribe(topic: string, handler: MessageHandler): Promise<void> {
    this.calls.push(`unsub:${topic}`);
    this.handlers.get(topic)?.delete(handler);
  }

  emit(message: StoredMessage): void {
    for (const handler of this.handlers.get(message.topic) ?? []) handler(message);
  }

  onResync(): void {}
}

const message = (id: string, expiresAt: number | null = null): StoredMessage => ({
  id,
  topic: 't',
  payload: {},
  metadata: {},
  timestamp: '2024-01-01T00:00:00.000Z',
  expiresAt,
});

function listener(
  kind: 'websocket' | 'poll' = 'websocket',
): FanoutListener & { got: OutboundMessage[] } {
  const got: OutboundMessage[] = [];
  return {
    got,
    consumer: { kind } as Consumer,
    onMessage: (m) => {
      got.push(m);
      return true;
    },
    onResync: () => undefined,
  };
}

describe('Fanout', () => {
  let bus: FakeBus;
  let metrics: { delivered: jest.Mock; latency: jest.Mock };
  let sut: Fanout;

  beforeEach(() => {
    bus = new FakeBus();
    metrics = { delivered: jest.fn(), latency: jest.fn() };
    sut = new Fanout(bus as unknown as MessageBus, metrics as unknown as DeliveryMetrics);
  });

  it('subscribes the bus once per topic and unsubscribes after the last listener', async () => {
    const [a, b] = [listener(), listener()];
    await Promise.all([sut.add('t', a), sut.add('t', b)]);
    expect(bus.calls).toEqual(['sub:t']);
    sut.remove('t', a);
    expect(bus.calls).toEqual(['sub:t']);
    sut.remove('t', b);
    await new Promise(setImmediate);
    expect(bus.calls).toEqual(['sub:t', 'unsub:t']);
    expect(sut.topicCount()).toBe(0);
  });

  it('wraps each message once: every socket gets the same serialised frame', async () => {
    const [a, b, p] = [listener(), listener(), listener('poll')];
    for (const l of [a, b, p]) await sut.add('t', l);
    bus.emit(message('1-0'));
    expect(a.got[0]).toBe(b.got[0]);
    expect(a.got[0].wsFrame()).toBe(b.got[0].wsFrame());
    expect(JSON.parse(a.got[0].wsFrame().toString())).toEqual({
      type: 'message',
      message_id: '1-0',
      topic: 't',
      payload: {},
      timestamp: '2024-01-01T00:00:00.000Z',
      metadata: {},
    });
    expect(metrics.delivered).toHaveBeenCalledWith('websocket', 't', 2);
  });

  it('drops expired messages', async () => {
    const a = listener();
    await sut.add('t', a);
    bus.emit(message('1-0', Date.now() - 1));
    expect(a.got).toEqual([]);
  });

  it('retries a failing bus subscription briefly', async () => {
    bus.failNext = 2;
    const a = listener();
    await sut.add('t', a);
    bus.emit(message('1-0'));
    expect(a.got).toHaveLength(1);
    expect(bus.calls).toEqual(['sub:t', 'sub:t', 'sub:t']);
  });

  it('lets the next consumer retry after a failed bus subscription', async () => {
    bus.failNext = 4;
    await expect(sut.add('t', listener())).rejects.toThrow('down');
    const b = listener();
    await sut.add('t', b);
    bus.emit(message('2-0'));
    expect(b.got).toHaveLength(1);
  });

  it('re-subscribes in order when a topic is left and joined again at once', async () => {
    const a = listener();
    await sut.add('t', a);
    sut.remove('t', a);
    const b = listener();
    await sut.add('t', b);
    expect(bus.calls).toEqual(['sub:t', 'unsub:t', 'sub:t']);
    bus.emit(message('3-0'));
    expect(b.got).toHaveLength(1);
  });
});
