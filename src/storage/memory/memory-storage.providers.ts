import { Injectable, OnModuleDestroy, Provider } from '@nestjs/common';
import { RelayConfig } from '../../config/relay-config';
import {
  KeyValueStore,
  MessageBus,
  MessageStore,
  StorageHealth,
  TokenStore,
  TopicStore,
  UserStore,
} from '../ports';
import { MemoryMessageBus } from './memory-message-bus';
import { MemoryMessageStore } from './memory-message-store';
import {
  MemoryKeyValueStore,
  MemoryStorageHealth,
  MemoryTokenStore,
  MemoryTopicStore,
  MemoryUserStore,
} from './memory-stores';

/** Periodically drops expired deny-list, idempotency and rate-limit entries. */
@Injectable()
class MemorySweeper implements OnModuleDestroy {
  private readonly timer: NodeJS.Timeout;

  constructor(tokens: TokenStore, kv: KeyValueStore) {
    this.timer = setInterval(() => {
      (tokens as MemoryTokenStore).sweep();
      (kv as MemoryKeyValueStore).sweep();
    }, 30_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

export function memoryStorageProviders(): Provider[] {
  return [
    { provide: MessageBus, useFactory: () => new MemoryMessageBus() },
    {
      provide: MessageStore,
      inject: [MessageBus, RelayConfig],
      useFactory: (bus: MemoryMessageBus, config: RelayConfig) =>
        new MemoryMessageStore(bus, {
          maxMessagesPerTopic: config.storage.maxMessagesPerTopic,
          maxAgeSeconds: config.storage.persistentTierRetention,
          idempotencyWindowSeconds: config.storage.idempotencyWindow,
        }),
    },
    { provide: UserStore, useFactory: () => new MemoryUserStore() },
    { provide: TopicStore, useFactory: () => new MemoryTopicStore() },
    { provide: TokenStore, useFactory: () => new MemoryTokenStore() },
    { provide: KeyValueStore, useFactory: () => new MemoryKeyValueStore() },
    { provide: StorageHealth, useFactory: () => new MemoryStorageHealth() },
    MemorySweeper,
  ];
}
