import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { MessageBus, MessageHandler, StoredMessage } from '../storage/ports';
import { FanoutListener } from './consumer';
import { DeliveryMetrics } from './delivery-metrics';
import { OutboundMessage } from './outbound-message';
import { SendBatch } from './send-batch';

interface TopicEntry {
  readonly listeners: Set<FanoutListener>;
  readonly handler: MessageHandler;
  ready: Promise<void>;
}

const SUBSCRIBE_RETRIES_MS = [100, 300, 900];
const NO_LISTENERS: ReadonlySet<FanoutListener> = new Set();

/**
 * The one bus subscription per topic of this instance, shared by every local consumer of the
 * topic (ref-counted: the instance only listens to topics its consumers use). Each message is
 * wrapped once and handed to every listener, so its frame is serialised once per fan-out.
 */
@Injectable()
export class Fanout implements OnModuleInit {
  private readonly logger = new Logger(Fanout.name);
  private readonly topics = new Map<string, TopicEntry>();
  /** Subscribe/unsubscribe calls of one topic run in order. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Socket writes of the messages dispatched in one tick, coalesced. */
  readonly batch = new SendBatch();

  constructor(
    private readonly bus: MessageBus,
    private readonly metrics: DeliveryMetrics,
  ) {}

  onModuleInit(): void {
    this.bus.onResync(() => this.resync());
  }

  /**
   * Registers the listener at once (it receives messages from the moment the bus subscription
   * is active) and resolves when the bus subscription is active.
   */
  add(topic: string, listener: FanoutListener): Promise<void> {
    let entry = this.topics.get(topic);
    if (!entry) {
      const created: TopicEntry = {
        listeners: new Set(),
        handler: (message) => this.dispatch(created, message),
        ready: Promise.resolve(),
      };
      created.ready = this.serialize(topic, () => this.subscribeBus(topic, created));
      created.ready.catch(() => {
        // Let the next consumer of the topic try again.
        if (this.topics.get(topic) === created) this.topics.delete(topic);
      });
      this.topics.set(topic, created);
      entry = created;
    }
    entry.listeners.add(listener);
    return entry.ready;
  }

  remove(topic: string, listener: FanoutListener): void {
    const entry = this.topics.get(topic);
    if (!entry || !entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.topics.delete(topic);
    this.serialize(topic, () => this.bus.unsubscribe(topic, entry.handler)).catch(
      (error: unknown) => this.logger.warn({ err: error, topic }, 'Bus unsubscribe failed'),
    );
  }

  listeners(topic: string): ReadonlySet<FanoutListener> {
    return this.topics.get(topic)?.listeners ?? NO_LISTENERS;
  }

  /** Topics this instance currently listens to. */
  topicCount(): number {
    return this.topics.size;
  }

  private dispatch(entry: TopicEntry, message: StoredMessage): void {
    const outbound = new OutboundMessage(message);
    if (outbound.isExpired(Date.now())) return;
    this.batch.message();
    let sockets = 0;
    for (const listener of entry.listeners) {
      try {
        if (listener.onMessage(outbound) && listener.consumer.kind === 'websocket') sockets++;
      } catch (error) {
        this.logger.error({ err: error, topic: message.topic }, 'Delivery listener failed');
      }
    }
    if (sockets > 0) {
      this.metrics.delivered('websocket', message.topic, sockets);
      this.metrics.latency('websocket', message.id);
    }
  }

  private resync(): void {
    for (const entry of this.topics.values()) {
      for (const listener of entry.listeners) listener.onResync();
    }
  }

  /** Rides out a short bus reconnect before telling consumers that storage is unavailable. */
  private async subscribeBus(topic: string, entry: TopicEntry): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.bus.subscribe(topic, entry.handler);
        return;
      } catch (error) {
        if (attempt >= SUBSCRIBE_RETRIES_MS.length || this.topics.get(topic) !== entry) throw error;
        await new Promise((resolve) => setTimeout(resolve, SUBSCRIBE_RETRIES_MS[attempt]));
      }
    }
  }

  private serialize(topic: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(topic) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(operation);
    this.chains.set(topic, next);
    const forget = (): void => {
      if (this.chains.get(topic) === next) this.chains.delete(topic);
    };
    next.then(forget, forget);
    return next;
  }
}
