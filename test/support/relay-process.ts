import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_ADMIN, TEST_JWT_SECRET } from './app';
import { freePort } from './valkey-server';

/**
 * The relay as a separate OS process, for tests that kill it, signal it or read its logs, RSS and
 * file descriptors. Runs `dist/main.js` when the build is newer than every source file, else the
 * sources through ts-node (transpile-only), so a test never runs stale code. Every process started
 * here is SIGKILLed when the test process exits, however it dies.
 */

const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 30_000;
const OUTPUT_CAP = 8 * 1024 * 1024;

export interface RelayProcessOptions {
  /** `valkey` (default when `valkey` is given) or `memory`. */
  backend?: 'memory' | 'valkey';
  valkey?: { host: string; port: number };
  /** Extra or overriding `PULSAR_*` variables. */
  env?: Record<string, string>;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** `dist`, `ts-node` or `auto` (default; `PULSAR_TEST_RELAY_RUNNER` overrides). */
  runner?: 'auto' | 'dist' | 'ts-node';
}

export interface RelayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RelayProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<port>/ws` */
  readonly wsUrl: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<RelayExit>;
  readonly isRunning: boolean;
  stdout(): string;
  stderr(): string;
  /** Sends a signal (SIGKILL by default). */
  kill(signal?: NodeJS.Signals): void;
  /** Resident set size in bytes, from /proc (0 once the process is gone). */
  rssBytes(): number;
  /** Open file descriptors, from /proc/<pid>/fd (0 once the process is gone). */
  fdCount(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once gone. */
  stop(graceMs?: number): Promise<RelayExit>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function watchdog(pid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 ${pid} 2>/dev/null`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** `dist/main.js` only when it is newer than every file under src/ (otherwise it is stale). */
export function relayCommand(runner: RelayProcessOptions['runner'] = 'auto'): string[] {
  const chosen = (process.env.PULSAR_TEST_RELAY_RUNNER as RelayProcessOptions['runner']) ?? runner;
  const dist = join(ROOT, 'dist', 'main.js');
  const distFresh =
    existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src')) - 1;
  if (chosen === 'dist' || (chosen === 'auto' && distFresh)) return [dist];
  return ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'main.ts')];
}

async function healthy(baseUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts the relay and resolves once `/health` answers 200. */
export async function startRelayProcess(options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const port = options.port ?? (await freePort());
  const backend = options.backend ?? (options.valkey ? 'valkey' : 'memory');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PULSAR_HOST: '127.0.0.1',
    PULSAR_HTTP_PORT: String(port),
    PULSAR_JWT_SECRET_KEY: TEST_JWT_SECRET,
    PULSAR_BOOTSTRAP_ADMIN_USERNAME: TEST_ADMIN.username,
    PULSAR_BOOTSTRAP_ADMIN_PASSWORD: TEST_ADMIN.password,
    PULSAR_BCRYPT_COST: '4',
    PULSAR_LOG_LEVEL: 'warn',
    PULSAR_STORAGE_BACKEND: backend,
    // The suites log in often from one IP; tests of the limits configure them explicitly.
    PULSAR_LOGIN_RATE_LIMIT: '0',
    PULSAR_LOGIN_IP_RATE_LIMIT: '0',
    ...(options.valkey
      ? {
          PULSAR_VALKEY_HOST: options.valkey.host,
          PULSAR_VALKEY_PORT: String(options.valkey.port),
        }
      : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, relayCommand(options.runner), {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not spawn the relay');
  const pid = child.pid;
  running.add(child);
  watchdog(pid);

  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (out.length < OUTPUT_CAP) out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < OUTPUT_CAP) err += d.toString();
  });
  let alive = true;
  const exited = new Promise<RelayExit>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      running.delete(child);
      resolve({ code, signal });
    });
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const proc: RelayProcess = {
    pid,
    port,
    baseUrl,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    exited,
    get isRunning() {
      return alive;
    },
    stdout: () => out,
    stderr: () => err,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive) child.kill(signal);
    },
    rssBytes() {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    fdCount() {
      try {
        return readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        return 0;
      }
    },
    async stop(graceMs = 10_000) {
      if (!alive) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await healthy(baseUrl))) {
    if (!alive || Date.now() > deadline) {
      proc.kill('SIGKILL');
      await exited;
      throw new Error(
        `relay on port ${port} did not become healthy\nstdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return proc;
}
