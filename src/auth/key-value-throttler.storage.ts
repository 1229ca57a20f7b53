import { ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { KeyValueStore } from '../storage/ports';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * `@nestjs/throttler` storage on the `KeyValueStore` port: a fixed window per key, so limits are
 * shared by every instance when the store is Valkey. A blocked key stays blocked until its window
 * ends.
 */
export class KeyValueThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly kv: KeyValueStore) {}

  async increment(
    key: string,
    ttlMs: number,
    limit: number,
    _blockDurationMs: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const windowSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    const { count, ttlMs: leftMs } = await this.kv.increment(
      `ratelimit:${throttlerName}:${key}`,
      windowSeconds,
    );
    const timeToExpire = Math.max(1, Math.ceil(leftMs / 1000));
    const isBlocked = count > limit;
    return {
      totalHits: count,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? timeToExpire : 0,
    };
  }
}

/** Keys stay short and free of client-chosen characters whatever the tracker holds. */
export function throttleKey(tracker: string): string {
  return createHash('sha256').update(tracker, 'utf8').digest('base64url').slice(0, 32);
}
