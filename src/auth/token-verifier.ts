import { Injectable } from '@nestjs/common';
import { setBounded } from '../common/bounded-map';
import { JwtService } from '@nestjs/jwt';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { RelayConfig } from '../config/relay-config';
import { MessageBus, Permission, TokenStore, UserRecord } from '../storage/ports';
import { UsersService } from '../users/users.service';
import { AuthUser } from './auth-user';

/** Claims of an access token (all required). `permissions` is informational only. */
export interface AccessTokenClaims {
  sub: string;
  username: string;
  permissions: unknown[];
  iat: number;
  exp: number;
  jti: string;
}

export const JWT_ALGORITHM = 'HS256';
const CLOCK_SKEW_SECONDS = 60;
/** Tokens remembered (signature checked; not deny-listed) per instance. */
const REMEMBERED_MAX = 10_000;

/**
 * The one token check shared by the HTTP guard and the WebSocket handshake: signature (HS256
 * only), required claims, deny-list, then the stored user (cached briefly by `UsersService`,
 * which drops the copy on every instance when the user changes).
 */
@Injectable()
export class TokenVerifier {
  private readonly verified = new Map<string, object>();
  /**
   * Tokens found not deny-listed, until when (epoch ms): a storage round trip per request
   * otherwise. Like the user cache: at most `auth.user_cache_ttl` old, dropped on every instance
   * by the `token-revoked` event and on bus resync, and at once here by `revoke`.
   */
  private readonly notRevoked = new Map<string, number>();
  private revocations = 0;
  private readonly notRevokedTtlMs: number;

  constructor(
    private readonly jwt: JwtService,
    private readonly tokens: TokenStore,
    private readonly users: UsersService,
    private readonly bus: MessageBus,
    config: RelayConfig,
  ) {
    this.notRevokedTtlMs = config.auth.userCacheTtl * 1000;
    bus.onControl((event) => {
      if (event.kind === 'token-revoked') this.forgetToken(event.jti);
    });
    bus.onResync(() => {
      this.revocations++;
      this.notRevoked.clear();
    });
  }

  /**
   * Revokes an access token everywhere: deny-listed until it expires (`ttlSeconds`), no longer
   * trusted here at once, and announced (other instances drop it, live sockets close).
   */
  async revoke(jti: string, userId: string, ttlSeconds: number): Promise<void> {
    this.forgetToken(jti);
    await this.tokens.denyAccessToken(jti, ttlSeconds);
    this.forgetToken(jti); // a check that read storage before the write may have cached it
    await this.bus.publishControl({ kind: 'token-revoked', jti, userId });
  }

  /**
   * Verifies a raw JWT (WebSocket handshake). Throws `UnauthenticatedError` (401) for a bad,
   * expired, revoked token or a deleted user, `ForbiddenError` (403) for an inactive user.
   */
  async verify(token: string): Promise<AuthUser> {
    return this.resolve(this.signedClaims(token));
  }

  private knownNotRevoked(jti: string): boolean {
    const until = this.notRevoked.get(jti);
    return until !== undefined && until > Date.now();
  }

  /** Reads the deny-list (callers check `knownNotRevoked` first) and remembers a "no". */
  private async isDenied(jti: string): Promise<boolean> {
    const revocations = this.revocations;
    const denied = await this.tokens.isAccessTokenDenied(jti);
    if (!denied && this.notRevokedTtlMs > 0 && revocations === this.revocations) {
      setBounded(this.notRevoked, jti, Date.now() + this.notRevokedTtlMs, REMEMBERED_MAX);
    }
    return denied;
  }

  private forgetToken(jti: string): void {
    this.revocations++;
    this.notRevoked.delete(jti);
  }

  /**
   * The claims of a token whose signature checks out. A token string always verifies the same way
   * under one key, so the answer is remembered (bounded); expiry, the deny-list and the user are
   * still checked on every call by `resolve`.
   */
  private signedClaims(token: string): object {
    const known = this.verified.get(token);
    if (known) return known;
    let claims: object;
    try {
      claims = this.jwt.verify<object>(token, { algorithms: [JWT_ALGORITHM] });
    } catch {
      throw new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN');
    }
    setBounded(this.verified, token, claims, REMEMBERED_MAX);
    return claims;
  }

  /** Checks claims whose signature and expiry were already verified (passport-jwt). */
  async resolve(raw: unknown): Promise<AuthUser> {
    const claims = checkClaims(raw);
    // Cached answers are read synchronously: this runs on every request.
    if (!this.knownNotRevoked(claims.jti) && (await this.isDenied(claims.jti))) {
      throw new UnauthenticatedError('Token has been revoked', 'TOKEN_REVOKED');
    }
    const cached = this.users.cachedForAuth(claims.sub);
    const user = cached !== undefined ? cached : await this.users.findForAuth(claims.sub);
    if (!user) throw new UnauthenticatedError('User not found', 'USER_NOT_FOUND');
    if (!user.isActive) throw new ForbiddenError('User is inactive', 'USER_INACTIVE');
    return {
      userId: user.userId,
      username: user.username,
      permissions: [...user.permissions],
      jti: claims.jti,
      exp: claims.exp,
    };
  }
}

function checkClaims(raw: unknown): AccessTokenClaims {
  const c = raw as Partial<AccessTokenClaims> | null;
  const now = Math.floor(Date.now() / 1000);
  const valid =
    c !== null &&
    typeof c === 'object' &&
    typeof c.sub === 'string' &&
    c.sub.length > 0 &&
    typeof c.username === 'string' &&
    Array.isArray(c.permissions) &&
    typeof c.jti === 'string' &&
    c.jti.length > 0 &&
    Number.isInteger(c.exp) &&
    Number.isInteger(c.iat) &&
    (c.exp as number) > now &&
    (c.iat as number) <= now + CLOCK_SKEW_SECONDS;
  if (!valid) throw new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN');
  return c as AccessTokenClaims;
}

export function claimsFor(user: UserRecord): {
  sub: string;
  username: string;
  permissions: Permission[];
} {
  return { sub: user.userId, username: user.username, permissions: user.permissions };
}
