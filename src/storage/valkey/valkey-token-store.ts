import { RefreshTokenRecord, RevokeReason, TokenStore } from '../ports';
import { flag, HashFields, hashToPairs, isFlagSet } from './hash-record';
import { LuaScript } from './lua-script';
import { ValkeyContext } from './valkey-context';
import { storageCall } from './valkey-errors';

/** A refresh-token record is kept an hour past its expiry, so replays are still recognised. */
const GRACE_MS = 3_600_000;

/** KEYS: record. ARGV: ttl ms, then field/value pairs. */
const SAVE = new LuaScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/** KEYS: a user's token set. Adds the jti and extends (never shortens) the set's TTL. */
const ADD_TO_SET = new LuaScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`);

/** The rotation compare-and-set: only one caller revokes an active token. */
const REVOKE_IF_ACTIVE = new LuaScript(`
local revoked = redis.call('HGET', KEYS[1], 'revoked')
if not revoked or revoked == '1' then return 0 end
redis.call('HSET', KEYS[1], 'revoked', '1', 'revoked_reason', ARGV[1])
return 1
`);

/** HSET on an existing record only (never resurrects an expired one). */
const SET_IF_EXISTS = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

function toHash(record: RefreshTokenRecord): Record<string, string | null> {
  return {
    jti: record.jti,
    user_id: record.userId,
    secret_hash: record.secretHash,
    parent_jti: record.parentJti,
    issued_at: record.issuedAt,
    expires_at: record.expiresAt,
    last_used_at: record.lastUsedAt,
    revoked: flag(record.revoked),
    revoked_reason: record.revokedReason,
    client_hint: record.clientHint,
  };
}

function fromHash(hash: HashFields): RefreshTokenRecord {
  return {
    jti: hash.jti,
    userId: hash.user_id,
    secretHash: hash.secret_hash,
    parentJti: hash.parent_jti ?? null,
    issuedAt: hash.issued_at,
    expiresAt: hash.expires_at,
    lastUsedAt: hash.last_used_at ?? null,
    revoked: isFlagSet(hash.revoked),
    revokedReason: (hash.revoked_reason as RevokeReason | undefined) ?? null,
    clientHint: hash.client_hint ?? null,
  };
}

/** Refresh tokens (`rt:{<jti>}` hashes, `rtu:{<userId>}` sets) and the deny-list (`deny:{<jti>}`). */
export class ValkeyTokenStore extends TokenStore {
  constructor(
    private readonly ctx: ValkeyContext,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  async saveRefresh(record: RefreshTokenRecord): Promise<void> {
    const { client, keys } = this.ctx;
    const ttlMs = Math.max(Date.parse(record.expiresAt) - this.clock() + GRACE_MS, GRACE_MS);
    await storageCall(async () => {
      // The set first: a crash in between leaves a dangling jti, which readers skip.
      await ADD_TO_SET.run(client, [keys.userRefreshTokens(record.userId)], [record.jti, ttlMs]);
      await SAVE.run(
        client,
        [keys.refreshToken(record.jti)],
        [ttlMs, ...hashToPairs(toHash(record))],
      );
    });
  }

  async getRefresh(jti: string): Promise<RefreshTokenRecord | null> {
    return storageCall(() => this.read(jti));
  }

  async revokeIfActive(jti: string, reason: RevokeReason): Promise<boolean> {
    const key = this.ctx.keys.refreshToken(jti);
    return storageCall(
      async () => (await REVOKE_IF_ACTIVE.run(this.ctx.client, [key], [reason])) === 1,
    );
  }

  async revoke(jti: string, reason: RevokeReason): Promise<void> {
    await this.setIfExists(jti, ['revoked', '1', 'revoked_reason', reason]);
  }

  async touch(jti: string, lastUsedAt: string): Promise<void> {
    await this.setIfExists(jti, ['last_used_at', lastUsedAt]);
  }

  async listForUser(userId: string): Promise<RefreshTokenRecord[]> {
    const setKey = this.ctx.keys.userRefreshTokens(userId);
    return storageCall(async () => {
      const jtis = await this.ctx.client.smembers(setKey);
      const records = await Promise.all(jtis.map((jti) => this.read(jti)));
      const gone = jtis.filter((_, i) => records[i] === null);
      if (gone.length) await this.ctx.client.srem(setKey, ...gone);
      return records.filter((r): r is RefreshTokenRecord => r !== null && r.userId === userId);
    });
  }

  async denyAccessToken(jti: string, ttlSeconds: number): Promise<void> {
    const seconds = Math.max(1, Math.ceil(ttlSeconds));
    await storageCall(() =>
      this.ctx.client.set(this.ctx.keys.deniedAccessToken(jti), '1', 'EX', seconds),
    );
  }

  async isAccessTokenDenied(jti: string): Promise<boolean> {
    return storageCall(
      async () => (await this.ctx.client.exists(this.ctx.keys.deniedAccessToken(jti))) === 1,
    );
  }

  private async read(jti: string): Promise<RefreshTokenRecord | null> {
    const hash = await this.ctx.client.hgetall(this.ctx.keys.refreshToken(jti));
    return Object.keys(hash).length ? fromHash(hash) : null;
  }

  private async setIfExists(jti: string, pairs: string[]): Promise<void> {
    await storageCall(() =>
      SET_IF_EXISTS.run(this.ctx.client, [this.ctx.keys.refreshToken(jti)], pairs),
    );
  }
}
