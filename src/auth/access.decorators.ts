import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { Permission } from '../storage/ports';
import { AuthUser } from './auth-user';

export const ACCESS_DECLARATION = 'relay:access';

/** What a route requires; every route must declare one (deny by default). */
export type AccessDeclaration =
  { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permission'; permission: Permission };

/** No token needed (health, login, docs). */
export const Public = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ACCESS_DECLARATION, { kind: 'public' } satisfies AccessDeclaration);

/** Any active, authenticated user; finer checks (topic access) happen in the service. */
export const Authenticated = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_DECLARATION, { kind: 'authenticated' } satisfies AccessDeclaration),
    ApiBearerAuth(),
  );

/** An active user holding the global permission (read from the stored user, not the token). */
export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ACCESS_DECLARATION, { kind: 'permission', permission } satisfies AccessDeclaration),
    ApiBearerAuth(),
  );

/** The authenticated user of the request. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser => {
    const request = context.switchToHttp().getRequest<{ user?: AuthUser }>();
    if (!request.user) throw new Error('CurrentUser used on a route without authentication');
    return request.user;
  },
);
