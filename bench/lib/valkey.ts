import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';

import { freePort, sleep, spawnServer } from './proc';

export interface BenchValkey {
  host: string;
  port: number;
  stop(): Promise<void>;
}

interface SupportModule {
  startValkeyServer(options?: { appendfsync?: 'always' | 'everysec' }): Promise<BenchValkey>;
}

function isSupportModule(m: unknown): m is SupportModule {
  return typeof (m as SupportModule | null)?.startValkeyServer === 'function';
}

/**
 * A private Valkey/Redis (AOF on, `appendfsync everysec`, no RDB) on a free port, never the
 * system one on 6379. Reuses the tests' `test/support/valkey-server.ts` when it is there.
 */
export async function startValkey(logDir: string): Promise<BenchValkey> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional sibling helper, loaded only if present
    const support: unknown = require('../../test/support/valkey-server');
    if (isSupportModule(support))
      return await support.startValkeyServer({ appendfsync: 'everysec' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulsar-bench-valkey-'));
  const bin = ['valkey-server', 'redis-server'].find((b) =>
    (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, b))),
  );
  if (!bin)
    throw new Error('no valkey-server or redis-server on PATH (apt-get install redis-server)');
  const server = spawnServer(
    'valkey',
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir,
    ],
    process.env,
    logDir,
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    try {
      await client.connect();
      await client.ping();
      client.disconnect();
      break;
    } catch {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`valkey did not start:\n${server.logTail()}`);
      await sleep(50);
    }
  }
  return {
    host: '127.0.0.1',
    port,
    async stop() {
      await server.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Empties the server between measurements so every run starts from the same state. */
export async function flushValkey(v: BenchValkey): Promise<void> {
  const client = new Redis({ host: v.host, port: v.port });
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

/** Seconds of CPU the server has used so far (INFO cpu), to report Valkey's share of a run. */
export async function valkeyCpuSeconds(v: BenchValkey): Promise<number> {
  const client = new Redis({ host: v.host, port: v.port });
  try {
    const info = await client.info('cpu');
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? NaN);
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? NaN);
    return user + sys;
  } finally {
    client.disconnect();
  }
}
