import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { RelayConfig } from '../../config/relay-config';
import {
  PubSubTransport,
  ShardedClusterTransport,
  SingleConnectionTransport,
} from './bus/pubsub-transport';
import { SubscriberEvents } from './bus/subscriber-connection';
import { ValkeyMessageBus } from './bus/valkey-message-bus';
import {
  closeClient,
  createCommandClient,
  nodeOptions,
  parseNode,
  ValkeyClient,
  ValkeySettings,
  waitUntilReady,
} from './valkey-connection';
import { PubSubMode, ValkeyContext } from './valkey-context';
import { ValkeyKeys } from './valkey-keys';

/** Valkey and Redis >= 7.0 have sharded pub/sub; an unreachable cluster is assumed to be one. */
async function detectPubSubMode(client: ValkeyClient): Promise<PubSubMode> {
  if (!(client instanceof Cluster)) return 'classic';
  if (client.status !== 'ready') return 'sharded';
  const info = (await client.call('COMMAND', 'INFO', 'SPUBLISH')) as unknown[];
  return Array.isArray(info) && info[0] ? 'sharded' : 'classic';
}

function transportFactory(
  settings: ValkeySettings,
  client: ValkeyClient,
  mode: PubSubMode,
): (events: SubscriberEvents) => PubSubTransport {
  const options = nodeOptions(settings);
  if (client instanceof Cluster && mode === 'sharded') {
    return (events) => new ShardedClusterTransport(client, options, events);
  }
  const node =
    client instanceof Cluster
      ? parseNode(settings.clusterNodes[0])
      : { host: settings.host, port: settings.port };
  return (events) => new SingleConnectionTransport({ ...options, ...node }, events);
}

/** Logs each loss and recovery of the command connection once, not every reconnect attempt. */
function logTransitions(client: ValkeyClient, logger: Logger): void {
  let lost = false;
  client.on('error', (err: Error) => {
    if (!lost) logger.warn(`Valkey error: ${err.message}`);
  });
  client.on('close', () => {
    if (!lost) logger.warn('Valkey connection lost; reconnecting');
    lost = true;
  });
  client.on('ready', () => {
    if (lost) logger.log('Valkey connection restored');
    lost = false;
  });
}

/** The connections of the Valkey driver, opened once and closed at shutdown. */
export class ValkeyResources implements OnApplicationShutdown {
  private constructor(
    readonly ctx: ValkeyContext,
    readonly bus: ValkeyMessageBus,
  ) {}

  static async open(
    config: RelayConfig,
    logger = new Logger('ValkeyStorage'),
  ): Promise<ValkeyResources> {
    const settings = config.valkey;
    const client = createCommandClient(settings);
    logTransitions(client, logger);
    if (!(await waitUntilReady(client, settings.connectTimeout * 1000))) {
      logger.warn('Valkey is not reachable yet; storage calls fail with 503 until it is');
    }
    const mode = await detectPubSubMode(client).catch((): PubSubMode => 'sharded');
    const ctx = new ValkeyContext(client, new ValkeyKeys(settings.keyPrefix), mode);
    const bus = new ValkeyMessageBus(ctx, transportFactory(settings, client, mode));
    return new ValkeyResources(ctx, bus);
  }

  async onApplicationShutdown(): Promise<void> {
    this.bus.close();
    await closeClient(this.ctx.client);
  }
}
