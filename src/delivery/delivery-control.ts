import { Injectable, OnModuleInit } from '@nestjs/common';
import { ControlEvent, MessageBus } from '../storage/ports';
import { Consumer } from './consumer';
import { ConsumerRegistry } from './consumer-registry';
import { Fanout } from './fanout';

/**
 * Routes control events from the bus (they reach every instance) to the affected local
 * consumers, which re-check their access at once.
 */
@Injectable()
export class DeliveryControl implements OnModuleInit {
  private sequence = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly fanout: Fanout,
    private readonly registry: ConsumerRegistry,
  ) {}

  onModuleInit(): void {
    this.bus.onControl((event) => this.route(event));
  }

  /**
   * Increases with every control event. A consumer that checked access before registering
   * compares it afterwards: if it moved, an event may have slipped between, so it checks again.
   */
  get seq(): number {
    return this.sequence;
  }

  route(event: ControlEvent): void {
    this.sequence++;
    switch (event.kind) {
      case 'topic-deleted':
        for (const consumer of this.topicConsumers(event.topic)) consumer.topicDeleted(event.topic);
        break;
      case 'topic-access-changed':
        for (const consumer of this.topicConsumers(event.topic)) {
          consumer.topicAccessChanged(event.topic);
        }
        break;
      case 'user-changed':
        for (const consumer of this.registry.forUser(event.userId)) consumer.userChanged();
        break;
      case 'token-revoked':
        for (const consumer of this.registry.forUser(event.userId))
          consumer.tokenRevoked(event.jti);
        break;
    }
  }

  private topicConsumers(topic: string): Set<Consumer> {
    const consumers = new Set<Consumer>();
    for (const listener of this.fanout.listeners(topic)) consumers.add(listener.consumer);
    return consumers;
  }
}
