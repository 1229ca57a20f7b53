import { Provider } from '@nestjs/common';
import { RelayConfig } from '../../config/relay-config';
import { HotTierMessageStore } from '../hot-tier/hot-tier-message-store';
import {
  KeyValueStore,
  MessageBus,
  MessageStore,
  StorageHealth,
  TokenStore,
  TopicStore,
  UserStore,
} from '../ports';
import { ValkeyKeyValueStore } from './valkey-key-value-store';
import { ValkeyMessageStore } from './valkey-message-store';
import { ValkeyResources } from './valkey-resources';
import { ValkeyStorageHealth } from './valkey-storage-health';
import { ValkeyTokenStore } from './valkey-token-store';
import { ValkeyTopicStore } from './valkey-topic-store';
import { ValkeyUserStore } from './valkey-user-store';

/** Hot-tier messages over all topics (its per-topic bound is `storage.hot_tier_max_messages`). */
const HOT_TIER_TOTAL_MESSAGES = 100_000;
const PING_TIMEOUT_MS = 1000;

function messageStore(resources: ValkeyResources, config: RelayConfig): MessageStore {
  const { storage } = config;
  const store = new ValkeyMessageStore(resources.ctx, {
    maxMessagesPerTopic: storage.maxMessagesPerTopic,
    maxAgeSeconds: storage.persistentTierRetention,
    idempotencyWindowSeconds: storage.idempotencyWindow,
  });
  if (storage.hotTierMaxMessages === 0 || storage.hotTierRetention === 0) return store;
  return new HotTierMessageStore(store, resources.bus, {
    // Never more than the stream keeps, so the window holds nothing the store has trimmed.
    maxMessagesPerTopic: Math.min(storage.hotTierMaxMessages, storage.maxMessagesPerTopic),
    maxAgeSeconds: storage.hotTierRetention,
    maxTotalMessages: HOT_TIER_TOTAL_MESSAGES,
    storeRetentionSeconds: storage.persistentTierRetention,
  });
}

/** Providers of the Valkey/Redis Streams driver (ioredis), standalone or cluster. */
export function valkeyStorageProviders(): Provider[] {
  return [
    {
      provide: ValkeyResources,
      inject: [RelayConfig],
      useFactory: (config: RelayConfig) => ValkeyResources.open(config),
    },
    { provide: MessageBus, inject: [ValkeyResources], useFactory: (r: ValkeyResources) => r.bus },
    { provide: MessageStore, inject: [ValkeyResources, RelayConfig], useFactory: messageStore },
    {
      provide: UserStore,
      inject: [ValkeyResources],
      useFactory: (r: ValkeyResources) => new ValkeyUserStore(r.ctx),
    },
    {
      provide: TopicStore,
      inject: [ValkeyResources],
      useFactory: (r: ValkeyResources) => new ValkeyTopicStore(r.ctx),
    },
    {
      provide: TokenStore,
      inject: [ValkeyResources],
      useFactory: (r: ValkeyResources) => new ValkeyTokenStore(r.ctx),
    },
    {
      provide: KeyValueStore,
      inject: [ValkeyResources],
      useFactory: (r: ValkeyResources) => new ValkeyKeyValueStore(r.ctx),
    },
    {
      provide: StorageHealth,
      inject: [ValkeyResources],
      useFactory: (r: ValkeyResources) => new ValkeyStorageHealth(r.ctx.client, PING_TIMEOUT_MS),
    },
  ];
}
