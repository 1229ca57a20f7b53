import { Cluster, Redis, RedisOptions } from 'ioredis';
import { StorageUnavailableError } from '../../../common/errors';
import { keySlot } from '../key-slot';
import { SubscriberConnection, SubscriberEvents } from './subscriber-connection';

/** Where the bus's channels are subscribed: one connection, or one per cluster shard. */
export interface PubSubTransport {
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  close(): void;
}

/** Classic pub/sub over one dedicated connection (standalone, or any node of a cluster). */
export class SingleConnectionTransport implements PubSubTransport {
  private readonly connection: SubscriberConnection;

  constructor(options: RedisOptions, events: SubscriberEvents) {
    this.connection = new SubscriberConnection(
      new Redis({ ...options, autoResubscribe: false }),
      false,
      events,
    );
  }

  subscribe(channel: string): Promise<void> {
    return this.connection.add(channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.connection.remove(channel);
  }

  close(): void {
    this.connection.close();
  }
}

/**
 * Sharded pub/sub: each channel is subscribed on the master owning its slot, through one
 * connection per master. When the cluster's slot map changes, channels follow their slot and
 * are reported lost, then restored.
 */
export class ShardedClusterTransport implements PubSubTransport {
  private readonly connections = new Map<string, SubscriberConnection>();
  private readonly nodeOfChannel = new Map<string, string>();
  /** Wanted channels whose slot owner was unknown (cluster unreachable); placed on refresh. */
  private readonly unplaced = new Set<string>();
  private readonly onRefresh = (): void => this.followSlots();

  constructor(
    private readonly cluster: Cluster,
    private readonly options: RedisOptions,
    private readonly events: SubscriberEvents,
  ) {
    cluster.on('refresh', this.onRefresh);
  }

  async subscribe(channel: string): Promise<void> {
    const node = this.cluster.slots[keySlot(channel)]?.[0];
    if (node === undefined) {
      this.unplaced.add(channel);
      throw new StorageUnavailableError();
    }
    this.nodeOfChannel.set(channel, node);
    await this.connectionTo(node).add(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.unplaced.delete(channel);
    const node = this.nodeOfChannel.get(channel);
    if (node === undefined) return;
    this.nodeOfChannel.delete(channel);
    await this.connections.get(node)?.remove(channel);
  }

  close(): void {
    this.cluster.off('refresh', this.onRefresh);
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
    this.nodeOfChannel.clear();
    this.unplaced.clear();
  }

  private connectionTo(node: string): SubscriberConnection {
    let connection = this.connections.get(node);
    if (!connection) {
      const at = node.lastIndexOf(':');
      const redis = new Redis({
        ...this.options,
        host: node.slice(0, at),
        port: Number(node.slice(at + 1)),
        autoResubscribe: false,
      });
      connection = new SubscriberConnection(redis, true, this.events);
      this.connections.set(node, connection);
    }
    return connection;
  }

  private followSlots(): void {
    for (const [channel, node] of this.nodeOfChannel) {
      const owner = this.cluster.slots[keySlot(channel)]?.[0];
      if (owner === undefined || owner === node) continue;
      this.nodeOfChannel.set(channel, owner);
      this.connections
        .get(node)
        ?.remove(channel)
        .catch(() => undefined);
      this.events.lost([channel]);
      this.connectionTo(owner)
        .add(channel)
        .then(
          () => this.events.restored([channel], true),
          () => undefined, // Restored by the new connection's 'ready' instead.
        );
    }
  }
}
