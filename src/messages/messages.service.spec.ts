import { Counter, Registry } from 'prom-client';
import { AuthUser } from '../auth/auth-user';
import { AccessDeniedError, StorageUnavailableError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { MemoryMessageBus } from '../storage/memory/memory-message-bus';
import { MemoryMessageStore } from '../storage/memory/memory-message-store';
import { MemoryKeyValueStore, MemoryTopicStore } from '../storage/memory/memory-stores';
import { NewMessage, StoredMessage } from '../storage/ports';
import { TopicAccess } from '../topics/topic-access';
import { IdempotencyService } from './idempotency.service';
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

  const build = (perTopicLabels = false): MessagesService => {
    const bus = new MemoryMessageBus();
    const kv = new MemoryKeyValueStore();
    store = new MemoryMessageStore(bus, { maxMessagesPerTopic: 1000, maxAgeSeconds: 0 });
    topics = new MemoryTopicStore();
    registry = new Registry();
    received = new Counter({
      name: 'received',
      help: 'h',
      labelNames: ['topic'],
      registers: [registry],
    });
    operations = new Counter({
      name: 'ops',
      help: 'h',
      labelNames: ['operation', 'status'],
      registers: [registry],
    });
    const cfg = config(perTopicLabels);
    return new MessagesService(
      store,
      new TopicAccess(topics, bus),
      new IdempotencyService(kv, cfg),
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
});
