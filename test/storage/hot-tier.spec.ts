import {
  HotTierMessageStore,
  HotTierOptions,
} from '../../src/storage/hot-tier/hot-tier-message-store';
import { MessageFeed } from '../../src/storage/hot-tier/message-feed';
import { MemoryMessageBus } from '../../src/storage/memory/memory-message-bus';
import { MemoryMessageStore } from '../../src/storage/memory/memory-message-store';
import { StoredMessage } from '../../src/storage/ports';

/** A bus stand-in: the test decides what is delivered and when continuity breaks. */
class FakeFeed implements MessageFeed {
  readonly tokens = new Map<string, number>();
  private listener: (message: StoredMessage) => void = () => undefined;
  private next = 1;

  follow(topic: string): void {
    this.tokens.set(topic, this.next++);
  }

  continuityToken(topic: string): number | null {
    return this.tokens.get(topic) ?? null;
  }

  onMessage(listener: (message: StoredMessage) => void): void {
    this.listener = listener;
  }

  deliver(message: StoredMessage): void {
    this.listener(message);
  }
}

const TOPIC = 't';
const OPTIONS: HotTierOptions = {
  maxMessagesPerTopic: 5,
  maxAgeSeconds: 60,
  maxTotalMessages: 8,
  storeRetentionSeconds: 0,
};

describe('HotTierMessageStore', () => {
  let now: number;
  let feed: FakeFeed;
  let inner: MemoryMessageStore;
  let innerReads: jest.SpyInstance;
  let sut: HotTierMessageStore;

  /** Appends through the store; the "bus" delivers it unless told otherwise. */
  async function publish(
    n: number,
    opts: { deliver?: boolean; ttl?: number; topic?: string } = {},
  ) {
    now += 1;
    const message = await sut.append({
      topic: opts.topic ?? TOPIC,
      payload: { n },
      metadata: {},
      ttl: opts.ttl,
    });
    if (opts.deliver !== false) feed.deliver(message);
    return message;
  }

  beforeEach(() => {
    now = 1_000_000;
    feed = new FakeFeed();
    inner = new MemoryMessageStore(
      new MemoryMessageBus(),
      { maxMessagesPerTopic: 1000, maxAgeSeconds: 0 },
      () => now,
    );
    innerReads = jest.spyOn(inner, 'readAfter');
    sut = new HotTierMessageStore(inner, feed, OPTIONS, () => now);
  });

  it('always reads through for a topic the bus does not follow', async () => {
    await publish(1);
    await sut.readAfter(TOPIC, null, 10);
    await sut.readAfter(TOPIC, null, 10);
    expect(innerReads).toHaveBeenCalledTimes(2);
  });

  it('serves from memory after one complete read of a followed topic', async () => {
    feed.follow(TOPIC);
    const a = await publish(1);
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual([a]);
    const b = await publish(2);
    const c = await publish(3);
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual([a, b, c]);
    expect(await sut.readAfter(TOPIC, a.id, 10)).toEqual([b, c]);
    expect(await sut.readAfter(TOPIC, a.id, 1)).toEqual([b]);
    expect(await sut.readAfter(TOPIC, c.id, 10)).toEqual([]);
    expect(innerReads).toHaveBeenCalledTimes(1);
  });

  it('does not seed from a read cut short by its limit', async () => {
    feed.follow(TOPIC);
    await publish(1);
    await publish(2);
    await sut.readAfter(TOPIC, null, 1);
    await sut.readAfter(TOPIC, null, 10);
    expect(innerReads).toHaveBeenCalledTimes(2);
  });

  it('merges what the bus delivers while the seeding read is in flight', async () => {
    feed.follow(TOPIC);
    const a = await publish(1);
    let b: StoredMessage | undefined;
    innerReads.mockImplementationOnce(
      async (topic: string, afterId: string | null, limit: number) => {
        const read = await MemoryMessageStore.prototype.readAfter.call(
          inner,
          topic,
          afterId,
          limit,
        );
        b = await publish(2); // appended after the read's snapshot, delivered before its reply
        return read;
      },
    );
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual([a]);
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual([a, b]);
    expect(innerReads).toHaveBeenCalledTimes(1);
  });

  it('reads through again once continuity is lost, and never serves what it did not see', async () => {
    feed.follow(TOPIC);
    const a = await publish(1);
    await sut.readAfter(TOPIC, null, 10);
    const missed = await publish(2, { deliver: false });
    feed.follow(TOPIC); // resync: a new token
    expect(await sut.readAfter(TOPIC, a.id, 10)).toEqual([missed]);
    expect(innerReads).toHaveBeenCalledTimes(2);
  });

  it('reads through for ids older than the window, after trimming to its size', async () => {
    feed.follow(TOPIC);
    await sut.readAfter(TOPIC, null, 10);
    const all: StoredMessage[] = [];
    for (let n = 0; n < 8; n++) all.push(await publish(n));
    expect(await sut.readAfter(TOPIC, all[2].id, 10)).toEqual(all.slice(3));
    expect(innerReads).toHaveBeenCalledTimes(1);
    expect(await sut.readAfter(TOPIC, all[1].id, 10)).toEqual(all.slice(2));
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual(all);
    expect(innerReads).toHaveBeenCalledTimes(3);
  });

  it('skips expired messages and forgets old ones', async () => {
    feed.follow(TOPIC);
    await sut.readAfter(TOPIC, null, 10);
    const short = await publish(1, { ttl: 1 });
    const kept = await publish(2);
    now += 1500;
    expect(await sut.readAfter(TOPIC, null, 10)).toEqual([kept]);
    expect(short.expiresAt).toBeLessThan(now);
    now += OPTIONS.maxAgeSeconds * 1000;
    expect(await sut.readAfter(TOPIC, kept.id, 10)).toEqual([]);
    expect(sut.size).toBe(0);
    expect(innerReads).toHaveBeenCalledTimes(1);
  });

  it('drops a deleted topic and bounds memory over all topics', async () => {
    for (const topic of ['a', 'b', 'c']) {
      feed.follow(topic);
      await sut.readAfter(topic, null, 10);
      for (let n = 0; n < 4; n++) await publish(n, { topic });
    }
    expect(sut.size).toBeLessThanOrEqual(OPTIONS.maxTotalMessages);
    await sut.deleteTopic('c');
    expect(await sut.readAfter('c', null, 10)).toEqual([]);
  });
});
