import { Counter, Registry } from 'prom-client';
import { flushCounterSeries } from '../metrics/counter-series';
import { AuthUser } from '../auth/auth-user';
import { AccessDeniedError, StorageUnavailableError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { MemoryMessageBus } from '../storage/memory/memory-message-bus';
import { MemoryMessageStore } from '../storage/memory/memory-message-store';
import { MemoryKeyValueStore, MemoryTopicStore } from '../storage/memory/memory-stores';
import { NewMessage, StoredMessage } from '../storage/ports';
import { TopicAccess } from '../topics/topic-access';
import { bulkMarker, IdempotencyService, singleMarker } from './idempotency.service';
import { MessagesService } from './messages.service';
import { PublishRateLimiter } from './publish-rate-limiter';

const alice: AuthUser = {
  userId: 'alice',
  username: 'alice',
  permissions: ['write'],
  jti: null,
  exp: 0,
};
const bob: AuthUser = { userId: 'bob', username: 'bob', permissions: ['write'], jti: null, exp: 0 };

function config(perTopicLabels: boolean): RelayConfig {
  return {
    storage: { idempotencyWindow: 600 },
    limits: { rateLimitPerClient: 0 },
    metrics: { perTopicLabels },
  } as RelayConfig;
}

describe('MessagesService', () => {
  let store: MemoryMessageStore;
  let topics: MemoryTopicStore;
  let registry: Registry;
  let received: Counter<'topic'>;
  let operations: Counter<'operation' | 'status'>;

  let kv: MemoryKeyValueStore;
  let idempotency: IdempotencyService;

  const build = (perTopicLabels = false): MessagesService => {
    const bus = new MemoryMessageBus();
    kv = new MemoryKeyValueStore();
    store = new MemoryMessageStore(bus, { maxMessagesPerTopic: 1000, maxAgeSeconds: 0 });
    topics = new MemoryTopicStore();
    registry = new Registry();
    received = new Counter({
      name: 'received',
      help: 'h',
      labelNames: ['topic'],
      registers: [registry],
      collect: flushCounterSeries,
    });
    operations = new Counter({
      name: 'ops',
      help: 'h',
      labelNames: ['operation', 'status'],
      registers: [registry],
      collect: flushCounterSeries,
    });
    const cfg = config(perTopicLabels);
    idempotency = new IdempotencyService(kv, cfg);
    idempotency.inFlightWaitMs = 20;
    return new MessagesService(
      store,
      new TopicAccess(topics, bus),
      idempotency,
      new PublishRateLimiter(kv, cfg),
      cfg,
      received,
      operations,
    );
  };

  const msg = (topic: string, n = 0): NewMessage => ({ topic, payload: { n }, metadata: {} });

  const valueOf = async (
    counter: Counter<string>,
    labels: Record<string, string>,
  ): Promise<number> =>
    (await counter.get()).values.find((v) =>
      Object.entries(labels).every(([k, x]) => v.labels[k] === x),
    )?.value ?? 0;

  it('publishes, counting the message without a topic label by default', async () => {
    const sut = build();
    const result = await sut.publish(alice, msg('orders'));
    expect(result).toEqual({
      message_id: expect.stringMatching(/^\d+-\d+$/),
      topic: 'orders',
      timestamp: expect.any(String),
    });
    expect(await valueOf(received, { topic: '' })).toBe(1);
    expect(await valueOf(operations, { operation: 'append', status: 'ok' })).toBe(1);
  });

  it('labels by topic only when configured', async () => {
    const sut = build(true);
    await sut.publishBulk(alice, [msg('a'), msg('b'), msg('a')]);
    expect(await valueOf(received, { topic: 'a' })).toBe(2);
    expect(await valueOf(received, { topic: 'b' })).toBe(1);
    expect(await valueOf(received, { topic: '' })).toBe(0);
  });

  it('reports a per-message storage failure as rejected, without internals', async () => {
    const sut = build();
    jest.spyOn(store, 'appendMany').mockImplementation(async (inputs) =>
      inputs.map((input, i): StoredMessage | Error =>
        i === 1
          ? new Error('ECONNRESET 10.0.0.3:6379')
          : i === 2
            ? new StorageUnavailableError()
            : {
                id: `1-${i}`,
                topic: input.topic,
                payload: input.payload,
                metadata: {},
                timestamp: 't',
                expiresAt: null,
              },
      ),
    );
    const out = await sut.publishBulk(alice, [msg('t', 0), msg('t', 1), msg('t', 2)]);
    expect(out.results.map((r) => [r.status, r.error])).toEqual([
      ['accepted', null],
      ['rejected', 'Failed to store the message'],
      ['rejected', new StorageUnavailableError().detail],
    ]);
    expect(out.summary).toEqual({ total: 3, accepted: 1, rejected: 2 });
    expect(await valueOf(received, { topic: '' })).toBe(1);
  });

  it('refuses a bulk naming a topic of someone else before creating or writing anything', async () => {
    const sut = build();
    await sut.publish(bob, msg('bobs'));
    await expect(sut.publishBulk(alice, [msg('fresh'), msg('bobs')])).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
    expect(await topics.get('fresh')).toBeNull();
    expect(await store.count('bobs')).toBe(1);
  });

  it('counts a failed append and stores no idempotency record for it', async () => {
    const sut = build();
    const spy = jest.spyOn(store, 'append').mockRejectedValueOnce(new StorageUnavailableError());
    await expect(sut.publish(alice, msg('t'), 'key')).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    expect(await valueOf(operations, { operation: 'append', status: 'error' })).toBe(1);
    spy.mockRestore();
    const retried = await sut.publish(alice, msg('t'), 'key');
    expect(await store.count('t')).toBe(1);
    expect(await sut.publish(alice, msg('t'), 'key')).toEqual(retried);
  });

  describe('retries of a publish cut by a crash', () => {
    /** What a relay killed after the append but before recording the response leaves behind. */
    const crashedClaim = async (scope: string, key: string, age = 0): Promise<void> => {
      const claim = { state: 'in_flight', since: Date.now() - age };
      await kv.setIfAbsent(`idem:${scope}:${key}`, JSON.stringify(claim), 30);
    };

    it('marks the stored message with the user and key', async () => {
      const sut = build();
      const result = await sut.publish(alice, msg('t'), 'key-1');
      expect(await store.findMarker('t', singleMarker('alice', 'key-1'))).toBe(result.message_id);
      expect(await store.findMarker('t', singleMarker('bob', 'key-1'))).toBeNull();
      const [read] = await store.readAfter('t', null, 10);
      expect(read).not.toHaveProperty('idempotencyMarker');
    });

    it('answers 201 with the first response while the dead claim is fresh', async () => {
      const sut = build();
      const original = await sut.publish(alice, msg('t'), 'key-1');
      await kv.delete('idem:alice:single:key-1');
      await crashedClaim('alice:single', 'key-1');
      const retried = await sut.publish(alice, msg('t'), 'key-1');
      expect(retried).toEqual(original);
      expect(await store.count('t')).toBe(1);
      expect(JSON.parse((await kv.get('idem:alice:single:key-1')) ?? 'null')).toEqual(original);
    });

    it('does not store again once the dead claim has expired', async () => {
      const sut = build();
      const original = await sut.publish(alice, msg('t'), 'key-1');
      await kv.delete('idem:alice:single:key-1');
      expect(await sut.publish(alice, msg('t'), 'key-1')).toEqual(original);
      expect(await store.count('t')).toBe(1);
    });

    it('answers 409 while a fresh claim left nothing stored, and stores after a stale one', async () => {
      const sut = build();
      await crashedClaim('alice:single', 'key-1');
      await expect(sut.publish(alice, msg('t'), 'key-1')).rejects.toEqual(
        expect.objectContaining({ status: 409, code: 'IDEMPOTENCY_IN_FLIGHT' }),
      );
      await kv.delete('idem:alice:single:key-1');
      await crashedClaim('alice:single', 'key-1', 31_000);
      const result = await sut.publish(alice, msg('t'), 'key-1');
      expect(await store.count('t')).toBe(1);
      expect(await sut.publish(alice, msg('t'), 'key-1')).toEqual(result);
    });

    it('finishes a cut bulk: stored items keep their ids, the rest are stored now', async () => {
      const sut = build();
      const batch = [msg('a', 0), msg('b', 1), msg('a', 2)];
      // The crashed attempt stored item 1 only (its topic's batch had gone through).
      const early = await store.append({
        ...batch[1],
        idempotencyMarker: bulkMarker('alice', 'k', 1),
      });
      await crashedClaim('alice:bulk', 'k');
      const out = await sut.publishBulk(alice, batch, 'k');
      expect(out.summary).toEqual({ total: 3, accepted: 3, rejected: 0 });
      expect(out.results[1]).toEqual({
        message_id: early.id,
        topic: 'b',
        status: 'accepted',
        error: null,
      });
      expect(await store.count('a')).toBe(2);
      expect(await store.count('b')).toBe(1);
      expect((await store.readAfter('a', null, 10)).map((m) => m.id)).toEqual([
        out.results[0].message_id,
        out.results[2].message_id,
      ]);
      expect(await sut.publishBulk(alice, batch, 'k')).toEqual(out);
    });

    it('answers 409 for a cut bulk that stored nothing while its claim is fresh', async () => {
      const sut = build();
      await crashedClaim('alice:bulk', 'k');
      await expect(sut.publishBulk(alice, [msg('a', 0)], 'k')).rejects.toEqual(
        expect.objectContaining({ code: 'IDEMPOTENCY_IN_FLIGHT' }),
      );
      expect(await store.count('a')).toBe(0);
    });

    it('keeps single and bulk keys apart', async () => {
      const sut = build();
      await sut.publish(alice, msg('t', 0), 'k');
      await sut.publishBulk(alice, [msg('t', 1)], 'k');
      expect(await store.count('t')).toBe(2);
    });
  });
});
