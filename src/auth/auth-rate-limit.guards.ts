import { CanActivate, ExecutionContext, Injectable, OnModuleInit } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerOptions } from '@nestjs/throttler';
import { RateLimitedError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { KeyValueStore } from '../storage/ports';
import { KeyValueThrottlerStorage, throttleKey } from './key-value-throttler.storage';

const MINUTE_MS = 60_000;

interface ThrottledRequest {
  ip?: string;
  body?: unknown;
}

const clientIp = (req: ThrottledRequest): string => req.ip ?? 'unknown';

function bodyUsername(req: ThrottledRequest): string {
  const body = req.body as { username?: unknown } | undefined;
  return typeof body?.username === 'string' ? body.username : '';
}

/** Renders a refusal as the contract's 429 `{detail, code}` with `Retry-After`. */
class RelayThrottler extends ThrottlerGuard {
  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RateLimitedError(
      detail.timeToBlockExpire,
      `Rate limit exceeded: ${detail.limit} per 1 minute`,
    );
  }
}

function perMinute(
  name: string,
  limit: number,
  tracker: (req: ThrottledRequest) => string,
): ThrottlerOptions {
  return {
    name,
    limit,
    ttl: MINUTE_MS,
    skipIf: () => limit === 0,
    getTracker: tracker,
    generateKey: (_context, trackerString) => throttleKey(trackerString),
  };
}

/**
 * Route guard around `@nestjs/throttler` with counters in the `KeyValueStore` (shared across
 * instances on Valkey). Kept out of `ThrottlerModule` so its options cannot clash with another
 * module's limits.
 */
abstract class KeyValueRateLimitGuard implements CanActivate, OnModuleInit {
  private readonly throttler: RelayThrottler;

  protected constructor(throttlers: ThrottlerOptions[], kv: KeyValueStore, reflector: Reflector) {
    this.throttler = new RelayThrottler(
      { throttlers, setHeaders: false },
      new KeyValueThrottlerStorage(kv),
      reflector,
    );
  }

  onModuleInit(): Promise<void> {
    return this.throttler.onModuleInit();
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.throttler.canActivate(context);
  }
}

/** Logins per minute per (IP, username) and per IP. */
@Injectable()
export class LoginRateLimitGuard extends KeyValueRateLimitGuard {
  constructor(config: RelayConfig, kv: KeyValueStore, reflector: Reflector) {
    super(
      [
        perMinute(
          'login-user',
          config.limits.loginPerMinute,
          (req) => `${clientIp(req)}|${bodyUsername(req)}`,
        ),
        perMinute('login-ip', config.limits.loginPerIpPerMinute, clientIp),
      ],
      kv,
      reflector,
    );
  }
}

/** Token refreshes per minute per IP. */
@Injectable()
export class RefreshRateLimitGuard extends KeyValueRateLimitGuard {
  constructor(config: RelayConfig, kv: KeyValueStore, reflector: Reflector) {
    super([perMinute('refresh-ip', config.limits.refreshPerMinute, clientIp)], kv, reflector);
  }
}
