import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { RelayConfig } from '../config/relay-config';
import { KeyValueStore, RefreshTokenRecord, RevokeReason, TokenStore } from '../storage/ports';
import { TokenVerifier } from './token-verifier';

/** An access token as far as revocation needs to know it. */
export interface IssuedAccessToken {
  jti: string;
  /** Epoch seconds. */
  exp: number;
}

export interface WireRefreshToken {
  jti: string;
  secret: string;
}

export interface NewRefreshToken {
  record: RefreshTokenRecord;
  /** `{jti}.{secret}`, shown to the client once. */
  wire: string;
}

const DAY_MS = 86_400_000;
const JTI = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET_BYTES = 32;

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Splits `{jti}.{secret}` at the first dot; null when a half is missing. */
export function parseRefreshToken(wire: string): WireRefreshToken | null {
  const dot = wire.indexOf('.');
  if (dot <= 0 || dot === wire.length - 1) return null;
  return { jti: wire.slice(0, dot), secret: wire.slice(dot + 1) };
}

/**
 * Refresh tokens: opaque `{jti}.{secret}` of which only sha256(secret) is stored, grouped in
 * rotation chains through `parentJti`. Every issuance also records which access token went out
 * with it, so that revoking a session (or a replayed chain) also revokes its live access tokens.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly kv: KeyValueStore,
    private readonly verifier: TokenVerifier,
    private readonly config: RelayConfig,
  ) {}

  /** Creates and stores a token, remembering the access token issued with it. */
  async create(
    userId: string,
    parentJti: string | null,
    clientHint: string | null,
    access: IssuedAccessToken,
  ): Promise<NewRefreshToken> {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const now = Date.now();
    const record: RefreshTokenRecord = {
      jti: randomUUID(),
      userId,
      secretHash: sha256Hex(secret),
      parentJti,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.auth.refreshTokenTtlDays * DAY_MS).toISOString(),
      lastUsedAt: null,
      revoked: false,
      revokedReason: null,
      clientHint,
    };
    await this.tokens.saveRefresh(record);
    const ttl = access.exp - Math.floor(now / 1000);
    if (ttl > 0) await this.kv.set(accessKey(record.jti), JSON.stringify(access), ttl);
    return { record, wire: `${record.jti}.${secret}` };
  }

  /** A record by id; ids that cannot be ours never reach storage. */
  async get(jti: string): Promise<RefreshTokenRecord | null> {
    return JTI.test(jti) ? this.tokens.getRefresh(jti) : null;
  }

  /** The stored record when the wire token's secret matches (constant-time), else null. */
  async find(token: WireRefreshToken): Promise<RefreshTokenRecord | null> {
    const record = await this.get(token.jti);
    const presented = Buffer.from(sha256Hex(token.secret), 'hex');
    const stored = Buffer.from(record?.secretHash ?? '', 'hex');
    const matches = stored.length === presented.length && timingSafeEqual(stored, presented);
    return record && matches ? record : null;
  }

  isExpired(record: RefreshTokenRecord): boolean {
    return Date.parse(record.expiresAt) <= Date.now();
  }

  /** Atomic: true for exactly one caller, the one that turned the active token into `reason`. */
  claim(jti: string, reason: RevokeReason): Promise<boolean> {
    return this.tokens.revokeIfActive(jti, reason);
  }

  touch(jti: string): Promise<void> {
    return this.tokens.touch(jti, new Date().toISOString());
  }

  async listActive(userId: string): Promise<RefreshTokenRecord[]> {
    const records = await this.tokens.listForUser(userId);
    return records.filter((r) => !r.revoked);
  }

  /** Marks the token revoked whatever its state (no access-token side effects). */
  mark(jti: string, reason: RevokeReason): Promise<void> {
    return this.tokens.revoke(jti, reason);
  }

  /**
   * Ends one session: revokes the token and the live access tokens issued along its rotation
   * history (its ancestors belong to the same session).
   */
  async revokeSession(record: RefreshTokenRecord, reason: RevokeReason): Promise<void> {
    await this.tokens.revokeIfActive(record.jti, reason);
    const records = await this.tokens.listForUser(record.userId);
    const byJti = new Map(records.map((r) => [r.jti, r]));
    const session: RefreshTokenRecord[] = [];
    const seen = new Set<string>();
    for (let r: RefreshTokenRecord | undefined = record; r && !seen.has(r.jti);) {
      seen.add(r.jti);
      session.push(r);
      r = r.parentJti ? byJti.get(r.parentJti) : undefined;
    }
    await this.revokeAccessTokens(session);
  }

  /**
   * Revokes the whole rotation chain of `record` (its connected component through `parentJti`)
   * and every live access token issued along it.
   */
  async revokeChain(record: RefreshTokenRecord, reason: RevokeReason): Promise<void> {
    const records = await this.tokens.listForUser(record.userId);
    const neighbours = new Map<string, string[]>();
    const link = (a: string, b: string): void => {
      neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
    };
    for (const r of records) {
      if (r.parentJti) {
        link(r.jti, r.parentJti);
        link(r.parentJti, r.jti);
      }
    }
    const byJti = new Map(records.map((r) => [r.jti, r]));
    const chain: RefreshTokenRecord[] = [];
    const seen = new Set<string>([record.jti]);
    const queue = [record.jti];
    while (queue.length > 0) {
      const jti = queue.shift() as string;
      const member = byJti.get(jti) ?? (jti === record.jti ? record : undefined);
      if (member) chain.push(member);
      for (const next of neighbours.get(jti) ?? []) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    for (const member of chain) await this.tokens.revokeIfActive(member.jti, reason);
    await this.revokeAccessTokens(chain);
  }

  /** Deny-lists the still-valid access tokens issued with these refresh tokens. */
  private async revokeAccessTokens(records: RefreshTokenRecord[]): Promise<void> {
    const now = Date.now();
    const accessLifetimeMs = this.config.auth.accessTokenExpireMinutes * 60_000;
    for (const record of records) {
      // Only tokens issued within one access lifetime can have a live access token.
      if (Date.parse(record.issuedAt) + accessLifetimeMs + 60_000 < now) continue;
      const stored = await this.kv.get(accessKey(record.jti));
      if (!stored) continue;
      const access = JSON.parse(stored) as IssuedAccessToken;
      const ttl = access.exp - Math.floor(now / 1000);
      if (ttl <= 0) continue;
      await this.verifier.revoke(access.jti, record.userId, ttl);
    }
  }
}

function accessKey(refreshJti: string): string {
  return `auth:refresh-access:${refreshJti}`;
}
