import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ForbiddenError, PermissionRequiredError, UnauthenticatedError } from '../common/errors';
import { ACCESS_DECLARATION, AccessDeclaration } from './access.decorators';
import { AuthUser, hasPermission } from './auth-user';

/**
 * Global, deny-by-default guard: a route without `@Public()`, `@Authenticated()` or
 * `@RequirePermission()` is refused.
 */
@Injectable()
export class AccessGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const declaration = this.reflector.getAllAndOverride<AccessDeclaration | undefined>(
      ACCESS_DECLARATION,
      [context.getHandler(), context.getClass()],
    );
    if (!declaration)
      throw new ForbiddenError('Route has no access declaration', 'ROUTE_NOT_DECLARED');
    if (declaration.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !/^Bearer\s+\S+/i.test(header)) {
      throw new UnauthenticatedError();
    }
    await super.canActivate(context);
    if (declaration.kind === 'permission') {
      const { user } = context.switchToHttp().getRequest<{ user: AuthUser }>();
      if (!hasPermission(user, declaration.permission)) {
        throw new PermissionRequiredError(declaration.permission);
      }
    }
    return true;
  }

  /** passport's verdict: errors of `TokenVerifier` (revoked, inactive, storage down) pass through. */
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    if (error instanceof Error) throw error;
    if (error || !user) throw new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN');
    return user;
  }
}
