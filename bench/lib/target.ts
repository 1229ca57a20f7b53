import { benchJs, freePort, ServerProcess, spawnServer, waitForHttp } from './proc';
import { benchUserToken, createTopics, Relay, relayPollWaiters, startRelay } from './relay';
import type { BenchValkey } from './valkey';

/** The server under measurement: the relay or one of the reference programs. */
export interface Target {
  kind: 'relay' | 'reference';
  name: string;
  pid: number;
  baseUrl: string;
  /** JWT of the bench user for the relay; null for a reference (it has no auth). */
  token: string | null;
  wsUrl: string;
  /** Makes sure the topics exist (the relay needs them created before subscribing). */
  ensureTopics(names: string[]): Promise<void>;
  pollWaiters(): Promise<number>;
  logTail(): string;
  stop(): Promise<void>;
}

export type ReferenceProgram =
  'http-parse' | 'http-xadd' | 'ws-broadcast' | 'ws-idle' | 'http-longpoll';

export async function startReference(
  program: ReferenceProgram,
  logDir: string,
  valkey?: BenchValkey,
): Promise<Target> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
  };
  if (valkey) {
    env.VALKEY_HOST = valkey.host;
    env.VALKEY_PORT = String(valkey.port);
  }
  const server: ServerProcess = spawnServer(
    `reference-${program}`,
    process.execPath,
    [benchJs(`reference/${program}`)],
    env,
    logDir,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/health`, server, 15_000);
  return {
    kind: 'reference',
    name: `reference ${program}`,
    pid: server.pid,
    baseUrl,
    token: null,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    ensureTopics: async () => undefined,
    async pollWaiters() {
      const res = await fetch(`${baseUrl}/messages/poll/stats`);
      const body = (await res.json()) as { active_waiters?: number };
      return Number(body.active_waiters ?? NaN);
    },
    logTail: () => server.logTail(),
    stop: () => server.stop('SIGKILL'),
  };
}

export interface RelayTargetOptions {
  name: string;
  backend: 'memory' | 'valkey';
  valkey?: BenchValkey;
  logDir: string;
  cpuProfileDir?: string;
}

export async function startRelayTarget(opts: RelayTargetOptions): Promise<Target> {
  const relay: Relay = await startRelay(opts);
  let token: string;
  try {
    token = await benchUserToken(relay);
  } catch (err) {
    await relay.stop();
    throw err;
  }
  return relayTarget(relay, token, opts.name);
}

export function relayTarget(relay: Relay, token: string, name: string): Target {
  return {
    kind: 'relay',
    name,
    pid: relay.pid,
    baseUrl: relay.baseUrl,
    token,
    wsUrl: relay.wsUrl(token),
    ensureTopics: (names) => createTopics(relay, token, names),
    pollWaiters: () => relayPollWaiters(relay.baseUrl, token),
    logTail: () => relay.server.logTail(),
    stop: () => relay.stop(),
  };
}
