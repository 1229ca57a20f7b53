export type RevokeReason = 'rotated' | 'replay' | 'logout' | 'expired' | 'user_gone';

export interface RefreshTokenRecord {
  jti: string;
  userId: string;
  /** sha256 hex of the secret half. */
  secretHash: string;
  parentJti: string | null;
  issuedAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revoked: boolean;
  revokedReason: RevokeReason | null;
  clientHint: string | null;
}

/** Refresh tokens and the access-token deny-list. */
export abstract class TokenStore {
  abstract saveRefresh(record: RefreshTokenRecord): Promise<void>;
  abstract getRefresh(jti: string): Promise<RefreshTokenRecord | null>;
  /** Atomic compare-and-set: marks an unrevoked token revoked with `reason`; false if it already was. */
  abstract revokeIfActive(jti: string, reason: RevokeReason): Promise<boolean>;
  /** Marks revoked (whatever its state) with `reason`. */
  abstract revoke(jti: string, reason: RevokeReason): Promise<void>;
  abstract touch(jti: string, lastUsedAt: string): Promise<void>;
  abstract listForUser(userId: string): Promise<RefreshTokenRecord[]>;
  /** Deny-lists an access-token id for `ttlSeconds` (at least 1). */
  abstract denyAccessToken(jti: string, ttlSeconds: number): Promise<void>;
  abstract isAccessTokenDenied(jti: string): Promise<boolean>;
}
