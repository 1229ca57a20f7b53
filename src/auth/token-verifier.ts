import { Injectable, OnModuleInit } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { RelayConfig } from '../config/relay-config';
import { DomainError, ForbiddenError, UnauthenticatedError } from '../common/errors';
import { MessageBus, Permission, TokenStore, UserRecord } from '../storage/ports';
import { UsersService } from '../users/users.service';
import { AuthUser } from './auth-user';

export interface AccessTokenClaims {
  sub: string;
  username: string;
  permissions?: unknown;
  iat: number;
  exp: number;
  jti?: string;
}

export const JWT_ALGORITHM = 'HS256';
const CLOCK_SKEW_SECONDS = 60;

interface CachedUser {
  user: UserRecord | null;
  expiresAt: number;
}

/**
 * The one token check shared by the HTTP guard and the WebSocket handshake: signature (HS256
 * only), required claims, deny-list, then the stored user (cached briefly; invalidated on every
 * instance through the bus when a user changes).
 */
@Injectable()
export class TokenVerifier implements OnModuleInit {
  private readonly cache = new Map<string, CachedUser>();

  constructor(
    private readonly jwt: JwtService,
    private readonly tokens: TokenStore,
    private readonly users: UsersService,
    private readonly bus: MessageBus,
    private readonly config: RelayConfig,
  ) {}

  onModuleInit(): void {
    this.bus.onControl((event) => {
      if (event.kind === 'user-changed') this.cache.delete(event.userId);
    });
  }

  /** Verifies a raw JWT (WebSocket handshake). */
  async verify(token: string): Promise<AuthUser> {
    let claims: unknown;
    try {
      claims = await this.jwt.verifyAsync<object>(token, { algorithms: [JWT_ALGORITHM] });
    } catch {
      throw new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN');
    }
    return this.resolve(claims);
  }

  /** Checks claims whose signature and expiry were already verified (passport-jwt). */
  async resolve(raw: unknown): Promise<AuthUser> {
    const claims = this.checkClaims(raw);
    if (claims.jti && (await this.tokens.isAccessTokenDenied(claims.jti))) {
      throw new UnauthenticatedError('Token has been revoked', 'TOKEN_REVOKED');
    }
    const user = await this.loadUser(claims.sub);
    if (!user) throw new UnauthenticatedError('User not found', 'USER_NOT_FOUND');
    if (!user.isActive) throw new ForbiddenError('User is inactive', 'USER_INACTIVE');
    return {
      userId: user.userId,
      username: user.username,
      permissions: user.permissions,
      jti: claims.jti ?? null,
      exp: claims.exp,
    };
  }

  /** Drops this instance's cached copy of a user (also happens on `user-changed` events). */
  forget(userId: string): void {
    this.cache.delete(userId);
  }

  private checkClaims(raw: unknown): AccessTokenClaims {
    const c = raw as Partial<AccessTokenClaims> | null;
    const now = Math.floor(Date.now() / 1000);
    const valid =
      c !== null &&
      typeof c === 'object' &&
      typeof c.sub === 'string' &&
      typeof c.username === 'string' &&
      typeof c.exp === 'number' &&
      typeof c.iat === 'number' &&
      c.exp > now &&
      c.iat <= now + CLOCK_SKEW_SECONDS &&
      (c.jti === undefined || typeof c.jti === 'string');
    if (!valid) throw new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN');
    return c as AccessTokenClaims;
  }

  private async loadUser(userId: string): Promise<UserRecord | null> {
    const now = Date.now();
    const cached = this.cache.get(userId);
    if (cached && cached.expiresAt > now) return cached.user;
    const user = await this.users.findById(userId);
    const ttlMs = this.config.auth.userCacheTtl * 1000;
    if (ttlMs > 0) {
      if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(userId, { user, expiresAt: now + ttlMs });
    }
    return user;
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

export function claimsFor(user: UserRecord): {
  sub: string;
  username: string;
  permissions: Permission[];
} {
  return { sub: user.userId, username: user.username, permissions: user.permissions };
}
