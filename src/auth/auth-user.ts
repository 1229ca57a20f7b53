import { Permission } from '../storage/ports';

/** The caller, as resolved from a verified token and the stored user record. */
export interface AuthUser {
  userId: string;
  username: string;
  /** From the stored user, never from the token. */
  permissions: Permission[];
  /** Access-token id; every accepted token has one (null only for callers built without a token). */
  jti: string | null;
  /** Token expiry, epoch seconds. */
  exp: number;
}

export function hasPermission(user: AuthUser, permission: Permission): boolean {
  return user.permissions.includes(permission);
}
