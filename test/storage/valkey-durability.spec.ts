import { StorageUnavailableError } from '../../src/common/errors';
import { StoredMessage } from '../../src/storage/ports';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  eventually,
  openStorage,
  retryUntilResolved,
  StorageInstance,
  unique,
} from './storage-instance';

const openOn = (server: ValkeyServer, prefix: string): Promise<StorageInstance> =>
  openStorage({
    'storage.backend': 'valkey',
    'valkey.host': server.host,
    'valkey.port': server.port,
    'valkey.key_prefix': `${prefix}:`,
    'valkey.connect_timeout': '1s',
    'valkey.command_timeout': '1s',
  });

/** How long `call` took to reject with `StorageUnavailableError`. */
async function rejectionTime(call: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await expect(call()).rejects.toBeInstanceOf(StorageUnavailableError);
  return Date.now() - started;
}

describe('valkey durability and outages', () => {
  let server: ValkeyServer;
  const instances: StorageInstance[] = [];

  async function open(prefix: string): Promise<StorageInstance> {
    const instance = await openOn(server, prefix);
    instances.push(instance);
    return instance;
  }

  beforeAll(async () => {
    server = await startValkeyServer({ appendfsync: 'always' });
  });

  afterEach(async () => {
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('keeps every acknowledged message across kill -9 with appendfsync always', async () => {
    const sut = await open(unique('durable'));
    const topic = unique('topic');
    const acknowledged: StoredMessage[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const results = await sut.messages.appendMany(
        Array.from({ length: 20 }, (_, n) => ({ topic, payload: { batch, n }, metadata: {} })),
      );
      for (const result of results) if (!(result instanceof Error)) acknowledged.push(result);
    }
    expect(acknowledged).toHaveLength(200);

    await server.kill('SIGKILL');
    await server.restart();

    const stored = await retryUntilResolved(() => sut.messages.readAfter(topic, null, 1000));
    expect(stored).toEqual(acknowledged);
  });

  it('fails fast while Valkey is down and recovers by itself, bus included', async () => {
    const prefix = unique('outage');
    const sut = await open(prefix);
    const publisher = await open(prefix);
    const topic = unique('topic');
    const received: StoredMessage[] = [];
    let resyncs = 0;
    sut.bus.onResync(() => resyncs++);
    await sut.bus.subscribe(topic, (m) => received.push(m));

    await server.kill('SIGKILL');

    const calls: Array<() => Promise<unknown>> = [
      () => publisher.messages.append({ topic, payload: {}, metadata: {} }),
      () => sut.messages.readAfter(topic, null, 10),
      () => sut.users.getByUsername('anyone'),
      () => sut.topics.get(topic),
      () => sut.tokens.isAccessTokenDenied('jti'),
      () => sut.kv.increment('counter', 60),
      () => sut.health.ping(),
      () => sut.bus.subscribe(unique('other'), () => undefined),
      () => sut.bus.publishControl({ kind: 'user-changed', userId: 'u' }),
    ];
    for (const call of calls) expect(await rejectionTime(call)).toBeLessThan(1000);
    const appended = await publisher.messages.appendMany([{ topic, payload: {}, metadata: {} }]);
    expect(appended[0]).toBeInstanceOf(StorageUnavailableError);

    await server.restart();

    const message = await retryUntilResolved(() =>
      publisher.messages.append({ topic, payload: { after: 'restart' }, metadata: {} }),
    );
    await retryUntilResolved(() => sut.health.ping());
    await eventually(() => resyncs > 0, 5000);
    const late = await publisher.messages.append({ topic, payload: { late: true }, metadata: {} });
    await eventually(() => received.some((m) => m.id === late.id), 5000);
    expect(await sut.messages.readAfter(topic, null, 10)).toEqual([message, late]);
  });

  it('starts while Valkey is down and works once it is up', async () => {
    const prefix = unique('late');
    await server.kill('SIGKILL');
    const started = Date.now();
    const sut = await open(prefix);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await rejectionTime(() => sut.health.ping())).toBeLessThan(1000);

    await server.restart();
    await retryUntilResolved(() => sut.health.ping());
    const other = await open(prefix);
    const seen: string[] = [];
    sut.bus.onControl((event) => seen.push(event.kind));
    const topic = unique('topic');
    const received: StoredMessage[] = [];
    await retryUntilResolved(() => sut.bus.subscribe(topic, (m) => received.push(m)));
    await other.bus.publishControl({ kind: 'user-changed', userId: 'u' });
    const message = await other.messages.append({ topic, payload: {}, metadata: {} });
    await eventually(() => seen.includes('user-changed') && received.length === 1, 5000);
    expect(received).toEqual([message]);
  });
});
