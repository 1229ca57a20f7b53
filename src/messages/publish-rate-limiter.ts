import { Injectable } from '@nestjs/common';
import { RateLimitedError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { KeyValueStore } from '../storage/ports';

const WINDOW_SECONDS = 60;

/**
 * `limits.rate_limit_per_client`: publish requests (single and bulk together) per user per
 * minute, counted in the key-value store so that instances sharing Valkey share the limit.
 */
@Injectable()
export class PublishRateLimiter {
  private readonly limit: number;

  constructor(
    private readonly kv: KeyValueStore,
    config: RelayConfig,
  ) {
    this.limit = config.limits.rateLimitPerClient;
  }

  /** False when `rate_limit_per_client` is 0 (callers skip `check`: it runs on every publish). */
  get enabled(): boolean {
    return this.limit > 0;
  }

  async check(userId: string): Promise<void> {
    if (this.limit <= 0) return;
    const { count, ttlMs } = await this.kv.increment(`ratelimit:publish:${userId}`, WINDOW_SECONDS);
    if (count > this.limit) {
      throw new RateLimitedError(ttlMs / 1000, `Rate limit exceeded: ${this.limit} per 1 minute`);
    }
  }
}
