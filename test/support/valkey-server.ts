import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Private Valkey/Redis servers for tests: a fresh temp dir, a free port, AOF on. Never the
 * system server on 6379. Every process started here is killed when the test process exits, even
 * by SIGKILL (a watchdog shell outlives jest by at most a second).
 */

export type AppendFsync = 'always' | 'everysec';

export interface ValkeyServerOptions {
  appendfsync?: AppendFsync;
  /** Extra `--name value` arguments. */
  args?: string[];
}

export interface ValkeyServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Kills the process (SIGKILL by default) and waits until it is gone; the data dir stays. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and dir (after `kill`), waits for PING. */
  restart(): Promise<void>;
  /** Kills the process and removes its dir. */
  stop(): Promise<void>;
}

export interface ValkeyCluster {
  readonly nodes: Array<{ host: string; port: number }>;
  /** The node processes, for fault injection (`kill`, `restart`). */
  readonly servers: ValkeyServer[];
  /** `host:port` of every master, as `valkey.cluster_nodes` takes them. */
  readonly seeds: string[];
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const running = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function findOnPath(names: string[]): string | null {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return null;
}

function requireBinary(names: string[]): string {
  const found = findOnPath(names);
  if (found) return found;
  throw new Error(
    `None of ${names.join(', ')} is on PATH. The Valkey storage tests need a real server: ` +
      'install one with `apt-get install -y redis-server` (or valkey-server).',
  );
}

export function serverBinary(): string {
  return requireBinary(['valkey-server', 'redis-server']);
}

export function cliBinary(): string {
  return requireBinary(['valkey-cli', 'redis-cli']);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One raw PING; true on `+PONG` (a loading server answers `-LOADING`). */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, HOST, () => socket.write('PING\r\n'));
  });
}

async function waitForPing(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`valkey/redis server on port ${port} exited at start-up; see ${logFile}`);
    }
    if (await pingOnce(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`valkey/redis server on port ${port} did not answer PING; see ${logFile}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Kills `pid` with SIGKILL once this test process is gone, however it died. */
function watchdog(pid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 ${pid} 2>/dev/null`;
  const guard = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  guard.unref();
}

class PrivateServer implements ValkeyServer {
  readonly host = HOST;
  private child: ChildProcess | null = null;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
  ) {}

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  async start(): Promise<void> {
    const logFile = join(this.dir, 'server.log');
    const child = spawn(
      serverBinary(),
      [
        '--port',
        String(this.port),
        '--bind',
        HOST,
        '--dir',
        this.dir,
        '--logfile',
        logFile,
        ...this.args,
      ],
      { stdio: 'ignore' },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.child = child;
    if (child.pid !== undefined) watchdog(child.pid);
    await waitForPing(this.port, child, logFile);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill(signal);
    await exited(child);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function baseArgs(appendfsync: AppendFsync): string[] {
  return [
    '--daemonize',
    'no',
    '--appendonly',
    'yes',
    '--appendfsync',
    appendfsync,
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
  ];
}

/** Starts a private standalone server; resolves once it answers PING. */
export async function startValkeyServer(options: ValkeyServerOptions = {}): Promise<ValkeyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pulsar-valkey-'));
  const args = [...baseArgs(options.appendfsync ?? 'everysec'), ...(options.args ?? [])];
  const server = new PrivateServer(await freePort(), dir, args);
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

const execFileAsync = promisify(execFile);

async function clusterInfo(port: number): Promise<string> {
  const { stdout } = await execFileAsync(cliBinary(), [
    '-h',
    HOST,
    '-p',
    String(port),
    'CLUSTER',
    'INFO',
  ]);
  return stdout;
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const infos = await Promise.all(ports.map(clusterInfo));
    if (
      infos.every(
        (info) =>
          /cluster_state:ok/.test(info) &&
          /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(ports.length),
      )
    ) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`cluster on ports ${ports.join(', ')} did not reach cluster_state:ok`);
}

/** Builds a cluster of `masters` masters (no replicas) from `--cluster-enabled yes` processes. */
export async function startValkeyCluster(masters = 3): Promise<ValkeyCluster> {
  const servers: ValkeyServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const clusterPort = await freePort();
      servers.push(
        await startValkeyServer({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(clusterPort),
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const ports = servers.map((s) => s.port);
    await execFileAsync(cliBinary(), [
      '--cluster',
      'create',
      ...ports.map((p) => `${HOST}:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitForClusterOk(ports);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: servers.map((s) => ({ host: s.host, port: s.port })),
    servers,
    seeds: servers.map((s) => `${s.host}:${s.port}`),
    stop,
  };
}
