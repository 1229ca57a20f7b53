import {
  Controller,
  Get,
  INestApplication,
  Module,
  Post,
  RequestMethod,
  Type,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { AppModule } from '../app.module';
import { loadConfig } from '../config/load-config';
import {
  ACCESS_DECLARATION,
  AccessDeclaration,
  Public,
  RequirePermission,
} from './access.decorators';

interface RouteDeclaration {
  route: string;
  declaration: AccessDeclaration | undefined;
}

function joinPath(...parts: string[]): string {
  const path = parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/');
  return `/${path}`;
}

/** Every route of every controller registered in the app, with its access declaration. */
function routesOf(app: INestApplication): RouteDeclaration[] {
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  const routes: RouteDeclaration[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<object>;
      const prototype = controller.prototype as Record<string, unknown>;
      const base = Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as (...args: unknown[]) => unknown;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (path === undefined) continue; // not a route handler
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
        const declaration = reflector.getAllAndOverride<AccessDeclaration | undefined>(
          ACCESS_DECLARATION,
          [handler, controller],
        );
        for (const prefix of [base ?? ''].flat()) {
          for (const suffix of [path].flat()) {
            routes.push({
              route: `${RequestMethod[method]} ${joinPath(prefix, suffix)} (${controller.name}.${name})`,
              declaration,
            });
          }
        }
      }
    }
  }
  return routes;
}

function undeclared(app: INestApplication): string[] {
  return routesOf(app)
    .filter((r) => r.declaration === undefined)
    .map((r) => r.route);
}

/** `METHOD /path` of every route the Express router serves (middleware catch-alls aside). */
function expressRoutes(app: INestApplication): string[] {
  const instance = app.getHttpAdapter().getInstance() as {
    router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
  };
  const routes: string[] = [];
  for (const { route } of instance.router.stack) {
    if (!route || route.path.includes('*')) continue;
    for (const [method, on] of Object.entries(route.methods)) {
      if (on) routes.push(`${method.toUpperCase()} ${route.path}`);
    }
  }
  return routes.sort();
}

describe('route access declarations', () => {
  let sut: INestApplication;

  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      overrides: { 'server.log_level': 'silent', 'auth.bcrypt_cost': 4 },
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    sut = moduleRef.createNestApplication({ logger: false });
    sut.useWebSocketAdapter(new WsAdapter(sut));
    await sut.init();
  });
  afterAll(() => sut?.close());

  it('finds every route the HTTP router serves', () => {
    const routes = routesOf(sut);
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const discovered = routes.map((r) => r.route.replace(/ \(.*\)$/, '')).sort();
    expect(discovered).toEqual(expressRoutes(sut));
  });

  it('has @Public(), @Authenticated() or @RequirePermission() on every route', () => {
    expect(undeclared(sut)).toEqual([]);
  });

  it('declares the auth routes as the contract says', () => {
    const kinds = Object.fromEntries(
      routesOf(sut).map((r) => [
        r.route.replace(/ \(.*\)$/, ''),
        r.declaration?.kind === 'permission' ? r.declaration.permission : r.declaration?.kind,
      ]),
    );
    expect(kinds).toMatchObject({
      'POST /auth/login': 'public',
      'POST /auth/token/refresh': 'public',
      'POST /auth/token/revoke': 'public',
      'POST /auth/logout': 'authenticated',
      'GET /auth/me': 'authenticated',
      'GET /auth/sessions': 'authenticated',
      'DELETE /auth/sessions/:jti': 'authenticated',
      'POST /auth/register': 'admin',
      'GET /auth/users': 'admin',
      'GET /auth/users/stats': 'admin',
      'PATCH /auth/users/:user_id': 'admin',
      'DELETE /auth/users/:user_id': 'admin',
    });
  });

  describe('the check itself', () => {
    @Controller('declared')
    @RequirePermission('read')
    class DeclaredController {
      @Get('by-class')
      byClass(): void {}

      @Post('public')
      @Public()
      open(): void {}
    }

    @Controller('forgotten')
    class ForgottenController {
      @Get('thing')
      thing(): void {}

      @Post('other')
      @Public()
      other(): void {}
    }

    @Module({ controllers: [DeclaredController, ForgottenController] })
    class FixtureModule {}

    it('names a route without a declaration, and accepts class-level ones', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [FixtureModule] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      try {
        expect(undeclared(app)).toEqual(['GET /forgotten/thing (ForgottenController.thing)']);
      } finally {
        await app.close();
      }
    });
  });
});
