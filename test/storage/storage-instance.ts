import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { loadConfig } from '../../src/config/load-config';
import { RelayConfig } from '../../src/config/relay-config';
import { RelayConfigModule } from '../../src/config/relay-config.module';
import {
  KeyValueStore,
  MessageBus,
  MessageStore,
  StorageHealth,
  TokenStore,
  TopicStore,
  UserStore,
} from '../../src/storage/ports';
import { StorageModule } from '../../src/storage/storage.module';

/** One relay instance's view of storage, built by the real `StorageModule`. */
export interface StorageInstance {
  messages: MessageStore;
  bus: MessageBus;
  users: UserStore;
  topics: TopicStore;
  tokens: TokenStore;
  kv: KeyValueStore;
  health: StorageHealth;
  config: RelayConfig;
  close(): Promise<void>;
}

/** A directory without config/default.yaml or .env, so only the given settings apply. */
const EMPTY_CWD = mkdtempSync(join(tmpdir(), 'pulsar-config-'));

export function storageConfig(overrides: Record<string, unknown>): RelayConfig {
  return loadConfig({ env: {}, cwd: EMPTY_CWD, overrides });
}

export async function openStorage(overrides: Record<string, unknown>): Promise<StorageInstance> {
  const config = storageConfig(overrides);
  const moduleRef = await Test.createTestingModule({
    imports: [RelayConfigModule.forRoot(config), StorageModule.forRoot(config)],
  }).compile();
  await moduleRef.init();
  return {
    messages: moduleRef.get(MessageStore),
    bus: moduleRef.get(MessageBus),
    users: moduleRef.get(UserStore),
    topics: moduleRef.get(TopicStore),
    tokens: moduleRef.get(TokenStore),
    kv: moduleRef.get(KeyValueStore),
    health: moduleRef.get(StorageHealth),
    config,
    close: () => moduleRef.close(),
  };
}

let uniqueCounter = 0;

/** A name no other test of this process uses (topics, users, key prefixes). */
export function unique(label: string): string {
  uniqueCounter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${uniqueCounter}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it is true or `timeoutMs` passes. */
export async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

/** Calls `call` until it resolves (storage back after an outage) or `timeoutMs` passes. */
export async function retryUntilResolved<T>(call: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
