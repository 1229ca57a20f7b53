import { Redis } from 'ioredis';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import { describeStorageContract } from './storage-contract';
import { openStorage, unique } from './storage-instance';
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
