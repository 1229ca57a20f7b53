import { readFileSync } from 'node:fs';
import { ConnectionOptions } from 'node:tls';
import { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { RelayConfig } from '../../config/relay-config';

export type ValkeyClient = Redis | Cluster;
export type ValkeySettings = RelayConfig['valkey'];

/** Reconnect quickly and keep trying: the relay must recover by itself when Valkey returns. */
const RECONNECT_MAX_DELAY_MS = 1000;

export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), RECONNECT_MAX_DELAY_MS);
}

function tlsOptions(settings: ValkeySettings): ConnectionOptions | undefined {
  if (!settings.useTls) return undefined;
  return settings.caPath ? { ca: readFileSync(settings.caPath) } : {};
}

/**
 * Options of every connection to one Valkey node. While a node is unreachable every command
 * fails at once (no offline queue, no retries of in-flight commands, which could also append a
 * message twice) instead of waiting for the reconnect.
 */
export function nodeOptions(settings: ValkeySettings): RedisOptions {
  return {
    username: settings.username || undefined,
    password: settings.password || undefined,
    tls: tlsOptions(settings),
    connectTimeout: settings.connectTimeout * 1000,
    commandTimeout: settings.commandTimeout * 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
  };
}

export function isCluster(settings: ValkeySettings): boolean {
  return settings.clusterNodes.length > 0;
}

export function parseNode(hostPort: string): { host: string; port: number } {
  const at = hostPort.lastIndexOf(':');
  if (at < 0) return { host: hostPort, port: 6379 };
  return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}

/** The command client: a standalone connection or a cluster client, auto-pipelined. */
export function createCommandClient(settings: ValkeySettings): ValkeyClient {
  if (!isCluster(settings)) {
    return new Redis({
      ...nodeOptions(settings),
      host: settings.host,
      port: settings.port,
      db: settings.db,
      enableAutoPipelining: true,
    });
  }
  const { retryStrategy: _retry, enableOfflineQueue: _queue, ...perNode } = nodeOptions(settings);
  const options: ClusterOptions = {
    redisOptions: perNode,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // ioredis 5 leaves auto-pipelined scripts answering MOVED for good after a shard restarts;
    // unbatched, they are still written without waiting for each other's replies.
    autoPipeliningIgnoredCommands: ['eval', 'evalsha'],
    clusterRetryStrategy: reconnectDelay,
    // A shard that is down answers 503 within ~0.3 s instead of after ioredis' 16 retries.
    maxRedirections: 6,
    retryDelayOnFailover: 50,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 50,
    lazyConnect: true,
  };
  return new Cluster(settings.clusterNodes.map(parseNode), options);
}

/** Resolves true once the client is ready, false after `timeoutMs` (it keeps reconnecting). */
export function waitUntilReady(client: ValkeyClient, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

/** Closes gracefully when possible (pending replies arrive), at once otherwise. */
export async function closeClient(client: ValkeyClient): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: the connection is already gone.
    }
  }
  client.disconnect();
}
