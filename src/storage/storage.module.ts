import { DynamicModule, Global, Module } from '@nestjs/common';
import { RelayConfig } from '../config/relay-config';
import { memoryStorageProviders } from './memory/memory-storage.providers';
import {
  KeyValueStore,
  MessageBus,
  MessageStore,
  StorageHealth,
  TokenStore,
  TopicStore,
  UserStore,
} from './ports';
import { valkeyStorageProviders } from './valkey/valkey-storage.providers';

const PORTS = [
  MessageStore,
  UserStore,
  TopicStore,
  TokenStore,
  KeyValueStore,
  MessageBus,
  StorageHealth,
];

/** The one place that picks the storage driver, from the validated config. */
@Global()
@Module({})
export class StorageModule {
  static forRoot(config: RelayConfig): DynamicModule {
    let providers;
    switch (config.storage.backend) {
      case 'memory':
        providers = memoryStorageProviders();
        break;
      case 'valkey':
        providers = valkeyStorageProviders();
        break;
      default:
        throw new Error(`Unknown storage backend: ${String(config.storage.backend)}`);
    }
    return { module: StorageModule, providers, exports: PORTS };
  }
}
