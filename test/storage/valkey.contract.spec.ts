import { Redis } from 'ioredis';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import { describeStorageContract } from './storage-contract';
import { openStorage, unique } from './storage-instance';
import { ValkeyKeys } from '../../src/storage/valkey/valkey-keys';
import { writeOneOfEverything } from './valkey-layout';

let server: ValkeyServer;

beforeAll(async () => {
  server = await startValkeyServer();
});

afterAll(async () => {
  await server?.stop();
});

const open = (scope: string, overrides: Record<string, unknown> = {}) =>
  openStorage({
    'storage.backend': 'valkey',
    'valkey.host': server.host,
    'valkey.port': server.port,
    'valkey.key_prefix': `${scope}:`,
    ...overrides,
  });

describeStorageContract('valkey (standalone)', {
  open,
  openPeer: (scope) => open(scope),
});

describe('valkey key layout', () => {
  it('writes every key under the configured prefix', async () => {
    const prefix = unique('layout');
    const sut = await open(prefix);
    const raw = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    try {
      await writeOneOfEverything(sut);
      const keys = await raw.keys('*');
      const ours = keys.filter((key) => key.includes(prefix));
      expect(ours.length).toBeGreaterThanOrEqual(9);
      expect(ours.every((key) => key.startsWith(`${prefix}:`))).toBe(true);
    } finally {
      raw.disconnect();
      await sut.close();
    }
  });
});

describe('valkey idempotency markers', () => {
  it('expire after the window plus the lease, and go with the topic', async () => {
    const prefix = unique('markers');
    const sut = await open(prefix, { 'storage.idempotency_window': 5 });
    const raw = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    try {
      const keys = new ValkeyKeys(sut.config.valkey.keyPrefix);
      const topic = unique('marked');
      const stored = await sut.messages.append({
        topic,
        payload: {},
        metadata: {},
        idempotencyMarker: 'u:k',
      });
      expect(await raw.get(keys.idempotencyMarker(topic, 'u:k'))).toBe(stored.id);
      const ttl = await raw.pttl(keys.idempotencyMarker(topic, 'u:k'));
      expect(ttl).toBeGreaterThan(34_000);
      expect(ttl).toBeLessThanOrEqual(35_000);
      expect(await raw.pttl(keys.idempotencyMarkers(topic))).toBeGreaterThan(34_000);
      await sut.messages.deleteTopic(topic);
      expect(await raw.keys(`${prefix}:t:{${topic}}*`)).toEqual([]);
    } finally {
      raw.disconnect();
      await sut.close();
    }
  });
});
