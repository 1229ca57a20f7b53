import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BUILD_DIR, freePort, ROOT, ServerProcess, sleep, spawnServer, waitForHttp } from './proc';
import type { BenchValkey } from './valkey';

export const RELAY_ENTRY = path.join(ROOT, 'dist', 'main.js');
/** Private copy of dist/ (and package.json, read for the version) that the harness runs. */
const SNAPSHOT = path.join(BUILD_DIR, 'relay');
const SNAPSHOT_ENTRY = path.join(SNAPSHOT, 'dist', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Copies dist/ aside once it is complete and has not changed for 2 s, so that a rebuild in the
 * work tree during a long run does not pull the relay from under the harness.
 * Returns false when there is no build.
 */
export async function snapshotRelay(timeoutMs = 60_000): Promise<boolean> {
  const dist = path.dirname(RELAY_ENTRY);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (fs.existsSync(RELAY_ENTRY) && Date.now() - newestMtime(dist) > 2000) {
        fs.rmSync(SNAPSHOT, { recursive: true, force: true });
        fs.cpSync(dist, path.join(SNAPSHOT, 'dist'), { recursive: true });
        fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(SNAPSHOT, 'package.json'));
        if (fs.existsSync(SNAPSHOT_ENTRY)) return true;
      }
    } catch {
      /* dist/ changed while copying: try again */
    }
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

/** Secrets shared by every relay instance of one harness run (instances must share the JWT key). */
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const JWT_SECRET = randomBytes(36).toString('base64url').slice(0, 48);
export const BENCH_USER = 'bench-user';
const BENCH_PASSWORD = randomBytes(12).toString('hex');

export interface Relay {
  server: ServerProcess;
  pid: number;
  port: number;
  baseUrl: string;
  wsUrl(token: string): string;
  stop(): Promise<void>;
}

export interface RelayOptions {
  name: string;
  backend: 'memory' | 'valkey';
  valkey?: BenchValkey;
  logDir: string;
  /** Directory for `node --cpu-prof` output; the relay is then stopped with SIGTERM. */
  cpuProfileDir?: string;
  /** Another build's `main.js` to run instead of the harness's snapshot of dist/ (tools). */
  entry?: string;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const entry = opts.entry ?? SNAPSHOT_ENTRY;
  if (!fs.existsSync(entry)) {
    throw new Error(`${opts.entry ?? RELAY_ENTRY} is missing: run \`npm run build\` first`);
  }
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    PULSAR_HTTP_PORT: String(port),
    PULSAR_HOST: '127.0.0.1',
    PULSAR_BOOTSTRAP_ADMIN_USERNAME: 'admin',
    PULSAR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PULSAR_JWT_SECRET_KEY: JWT_SECRET,
    PULSAR_LOG_LEVEL: 'warn',
    PULSAR_BCRYPT_COST: '4',
    PULSAR_STORAGE_BACKEND: opts.backend,
    PULSAR_MAX_CONNECTIONS_PER_INSTANCE: '30000',
    PULSAR_WS_MAX_PER_USER: '30000',
    PULSAR_POLL_MAX_WAITERS_PER_USER: '10000',
    PULSAR_POLL_MAX_WAITERS: '10000',
    PULSAR_LOGIN_RATE_LIMIT: '0',
    PULSAR_LOGIN_IP_RATE_LIMIT: '0',
  };
  if (opts.valkey) {
    env.PULSAR_VALKEY_HOST = opts.valkey.host;
    env.PULSAR_VALKEY_PORT = String(opts.valkey.port);
  }
  const nodeArgs: string[] = [];
  if (opts.cpuProfileDir) {
    fs.mkdirSync(opts.cpuProfileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
  }
  const server = spawnServer(opts.name, process.execPath, [...nodeArgs, entry], env, opts.logDir);
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${baseUrl}/health`, server, 30_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    server,
    pid: server.pid,
    port,
    baseUrl,
    wsUrl: (token) => `ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`,
    // A profiled relay must exit by itself for node to write the profile.
    stop: () => (opts.cpuProfileDir ? server.stop('SIGTERM', 20_000) : server.stop('SIGKILL')),
  };
}

async function call(
  baseUrl: string,
  method: string,
  route: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${baseUrl}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, json };
}

async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const r = await call(baseUrl, 'POST', '/auth/login', { username, password });
  if (r.status !== 200 || typeof r.json.access_token !== 'string') {
    throw new Error(`login as ${username} failed: ${r.status} ${JSON.stringify(r.json)}`);
  }
  return r.json.access_token;
}

/**
 * Creates (or reuses, on a shared Valkey) a non-admin user with read and write, and returns its
 * access token: the load uses the same auth path as a real producer or consumer.
 */
export async function benchUserToken(relay: Relay): Promise<string> {
  const admin = await login(relay.baseUrl, 'admin', ADMIN_PASSWORD);
  const r = await call(
    relay.baseUrl,
    'POST',
    '/auth/register',
    { username: BENCH_USER, password: BENCH_PASSWORD, permissions: ['read', 'write'] },
    admin,
  );
  if (r.status !== 201 && !(r.status === 400 || r.status === 409)) {
    throw new Error(`register ${BENCH_USER} failed: ${r.status} ${JSON.stringify(r.json)}`);
  }
  return login(relay.baseUrl, BENCH_USER, BENCH_PASSWORD);
}

/** Creates the topics (owned by the bench user) that subscribers and pollers will use. */
export async function createTopics(relay: Relay, token: string, names: string[]): Promise<void> {
  const queue = [...names];
  const lane = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const r = await call(relay.baseUrl, 'POST', '/api/v1/topics', { topic_name: name }, token);
      if (r.status !== 201 && r.status !== 200 && r.status !== 409 && r.status !== 400) {
        throw new Error(`create topic ${name} failed: ${r.status} ${JSON.stringify(r.json)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/** Active long-poll waiters of the caller (the bench user's own, per the contract). */
export async function relayPollWaiters(baseUrl: string, token: string | null): Promise<number> {
  const r = await call(baseUrl, 'GET', '/messages/poll/stats', undefined, token ?? undefined);
  return Number(r.json.active_waiters ?? NaN);
}
