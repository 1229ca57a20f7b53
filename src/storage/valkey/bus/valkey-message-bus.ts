import { compareMessageIds } from '../../../common/message-id';
import { MessageFeed } from '../../hot-tier/message-feed';
import {
  ControlEvent,
  ControlHandler,
  MessageBus,
  MessageHandler,
  StoredMessage,
} from '../../ports';
import { decodeFrame } from '../message-codec';
import { ValkeyContext } from '../valkey-context';
import { storageCall, toStorageError } from '../valkey-errors';
import { PubSubTransport } from './pubsub-transport';
import { SubscriberEvents } from './subscriber-connection';

class TopicSubscription {
  readonly handlers = new Set<MessageHandler>();
  /** Settles once the channel is subscribed. */
  active: Promise<void> = Promise.resolve();
  continuityToken: number | null = null;
  lastId: string | null = null;

  constructor(
    readonly topic: string,
    readonly channel: string,
  ) {}
}

/**
 * The bus over Valkey pub/sub. Messages are published by the append script; this side keeps one
 * channel subscription per topic with local handlers, plus the control channel.
 */
export class ValkeyMessageBus extends MessageBus implements MessageFeed {
  private readonly byTopic = new Map<string, TopicSubscription>();
  private readonly byChannel = new Map<string, TopicSubscription>();
  private readonly controlHandlers: ControlHandler[] = [];
  private readonly resyncHandlers: Array<() => void> = [];
  private readonly feedListeners: Array<(message: StoredMessage) => void> = [];
  private readonly controlChannel: string;
  private readonly transport: PubSubTransport;
  private nextToken = 1;

  constructor(
    private readonly ctx: ValkeyContext,
    createTransport: (events: SubscriberEvents) => PubSubTransport,
  ) {
    super();
    this.controlChannel = ctx.keys.controlChannel();
    this.transport = createTransport({
      message: (channel, raw) => this.receive(channel, raw),
      lost: (channels) => this.lose(channels),
      restored: (channels, reconnected) => this.restore(channels, reconnected),
    });
    // Kept wanted even while offline: subscribed as soon as the connection is ready.
    this.transport.subscribe(this.controlChannel).catch(() => undefined);
  }

  async subscribe(topic: string, handler: MessageHandler): Promise<void> {
    let subscription = this.byTopic.get(topic);
    if (!subscription) {
      const created = new TopicSubscription(topic, this.ctx.keys.topicChannel(topic));
      created.active = this.transport.subscribe(created.channel).then(() => {
        created.continuityToken ??= this.nextToken++;
      });
      this.byTopic.set(topic, created);
      this.byChannel.set(created.channel, created);
      subscription = created;
    }
    subscription.handlers.add(handler);
    try {
      await subscription.active;
    } catch (err) {
      await this.unsubscribe(topic, handler);
      throw toStorageError(err);
    }
  }

  async unsubscribe(topic: string, handler: MessageHandler): Promise<void> {
    const subscription = this.byTopic.get(topic);
    if (!subscription?.handlers.delete(handler) || subscription.handlers.size > 0) return;
    this.byTopic.delete(topic);
    this.byChannel.delete(subscription.channel);
    await this.transport.unsubscribe(subscription.channel).catch(() => undefined);
  }

  async publishControl(event: ControlEvent): Promise<void> {
    const { client } = this.ctx;
    const raw = JSON.stringify(event);
    await storageCall(() =>
      this.ctx.pubSubMode === 'sharded'
        ? client.spublish(this.controlChannel, raw)
        : client.publish(this.controlChannel, raw),
    );
  }

  onControl(handler: ControlHandler): void {
    this.controlHandlers.push(handler);
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  continuityToken(topic: string): number | null {
    return this.byTopic.get(topic)?.continuityToken ?? null;
  }

  onMessage(listener: (message: StoredMessage) => void): void {
    this.feedListeners.push(listener);
  }

  close(): void {
    this.transport.close();
    this.byTopic.clear();
    this.byChannel.clear();
  }

  /** Runs inside the client's socket handler: nothing may escape from here. */
  private receive(channel: string, raw: string): void {
    try {
      if (channel === this.controlChannel) this.receiveControl(raw);
      else this.receiveMessage(channel, raw);
    } catch {
      // A malformed frame is dropped; it cannot come from our own scripts.
    }
  }

  private receiveMessage(channel: string, raw: string): void {
    const subscription = this.byChannel.get(channel);
    // Lost and not yet restored: what arrives now may follow a gap, so the resync (from the store)
    // must deliver it, not the feed.
    if (!subscription || subscription.continuityToken === null) return;
    const message = decodeFrame(subscription.topic, raw);
    if (message === null) {
      // The stream was deleted: what was cached of it is gone, and ids may start over.
      subscription.continuityToken &&= this.nextToken++;
      subscription.lastId = null;
      return;
    }
    // Pub/sub never reorders one connection, but a slot moving between shards could replay.
    if (subscription.lastId !== null && compareMessageIds(message.id, subscription.lastId) <= 0) {
      return;
    }
    subscription.lastId = message.id;
    for (const listener of this.feedListeners) listener(message);
    for (const handler of subscription.handlers) {
      try {
        handler(message);
      } catch {
        // A failing consumer must never affect the others; delivery handles its own errors.
      }
    }
  }

  private receiveControl(raw: string): void {
    const event = JSON.parse(raw) as ControlEvent;
    for (const handler of this.controlHandlers) {
      try {
        handler(event);
      } catch {
        // Same isolation as message handlers.
      }
    }
  }

  private lose(channels: string[]): void {
    for (const channel of channels) {
      const subscription = this.byChannel.get(channel);
      if (subscription) subscription.continuityToken = null;
    }
  }

  private restore(channels: string[], reconnected: boolean): void {
    for (const channel of channels) {
      const subscription = this.byChannel.get(channel);
      if (subscription) subscription.continuityToken = this.nextToken++;
    }
    if (!reconnected) return;
    for (const handler of this.resyncHandlers) {
      try {
        handler();
      } catch {
        // Same isolation as message handlers.
      }
    }
  }
}
