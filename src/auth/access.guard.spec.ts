import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { Authenticated, Public, RequirePermission } from './access.decorators';
import { AccessGuard } from './access.guard';

class Routes {
  @Public()
  open(): void {}

  @Authenticated()
  mine(): void {}

  @RequirePermission('admin')
  admin(): void {}

  forgotten(): void {}
}

function httpContext(
  handler: keyof Routes,
  headers: Record<string, string> = {},
): ExecutionContext {
  return {
    getType: () => 'http',
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({
      getRequest: () => ({ headers }),
      getResponse: () => ({}),
      getNext: () => undefined,
    }),
  } as unknown as ExecutionContext;
}

describe('AccessGuard', () => {
  const sut = new AccessGuard(new Reflector());

  it('refuses a route without an access declaration with 403', async () => {
    const error = await sut.canActivate(httpContext('forgotten')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error).toMatchObject({ code: 'ROUTE_NOT_DECLARED' });
  });

  it('lets a public route through without a token', async () => {
    await expect(sut.canActivate(httpContext('open'))).resolves.toBe(true);
  });

  it.each(['mine', 'admin'] as const)(
    'refuses %s without a Bearer header with 401',
    async (route) => {
      const cases: Array<Record<string, string>> = [
        {},
        { authorization: 'Basic YTpi' },
        { authorization: 'Bearer ' },
      ];
      for (const headers of cases) {
        const error = await sut.canActivate(httpContext(route, headers)).catch((e: unknown) => e);
        expect(error).toEqual(new UnauthenticatedError());
      }
    },
  );

  it('leaves WebSocket contexts to the gateway handshake', async () => {
    const ws = { ...httpContext('forgotten'), getType: () => 'ws' } as ExecutionContext;
    await expect(sut.canActivate(ws)).resolves.toBe(true);
  });

  it('passes errors of the token verifier through, and turns a plain refusal into 401', () => {
    const revoked = new UnauthenticatedError('Token has been revoked', 'TOKEN_REVOKED');
    expect(() => sut.handleRequest(revoked, false)).toThrow(revoked);
    expect(() => sut.handleRequest(null, false)).toThrow(
      new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN'),
    );
    const user = { userId: 'u' };
    expect(sut.handleRequest(null, user)).toBe(user);
  });
});
