import { Injectable } from '@nestjs/common';
import { PermissionRequiredError, UnauthenticatedError } from '../common/errors';
import { Permission } from '../storage/ports';
import { AuthUser, hasPermission } from './auth-user';
import { TokenVerifier } from './token-verifier';

/** `Bearer <token>`, the form `AccessGuard` accepts (the token is the first word after it). */
const BEARER = /^Bearer\s+(\S+)/i;

/**
 * `@RequirePermission(p)` for handlers served outside Nest's router (the publish fast path): the
 * same token check as `AccessGuard` (signature, claims, deny-list, stored user) and the same errors.
 */
@Injectable()
export class BearerAuth {
  constructor(private readonly verifier: TokenVerifier) {}

  static hasBearer(header: unknown): boolean {
    return typeof header === 'string' && BEARER.test(header);
  }

  async require(header: unknown, permission: Permission): Promise<AuthUser> {
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined) throw new UnauthenticatedError();
    const user = await this.verifier.verify(token);
    if (!hasPermission(user, permission)) throw new PermissionRequiredError(permission);
    return user;
  }
}
