import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { urlencoded } from 'express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { bodyErrorMiddleware } from './common/middleware/body-errors';
import { bodyLimitMiddleware } from './common/middleware/body-limit';
import { RelayConfig } from './config/relay-config';
import { RelayWsAdapter } from './delivery/ws/relay-ws.adapter';
import { RELAY_VERSION } from './health/version';
import { requestLogging } from './logger';

/** Builds the application for a validated config (used by main.ts and the e2e tests). */
export async function createApp(config: RelayConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  configureApp(app, config);
  return app;
}

/** Everything that is not a module: parsers, CORS, WebSocket adapter, Swagger. */
export function configureApp(app: NestExpressApplication, config: RelayConfig): void {
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);
  app.use(requestLogging(config));
  const limit = config.server.maxBodyBytes;
  app.use(bodyLimitMiddleware(limit));
  app.useBodyParser('json', { limit, type: ['application/json', 'application/*+json'] });
  // Only the OAuth2 password form is urlencoded; other routes skip that parser.
  app.use('/auth/login', urlencoded({ limit, extended: false }));
  app.use(bodyErrorMiddleware);
  // No allow-list, no CORS: browsers on other origins are refused, and requests skip the middleware.
  if (config.server.allowedOrigins.length > 0) {
    app.enableCors({
      origin: config.server.allowedOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id'],
      exposedHeaders: ['Retry-After', 'X-Request-Id'],
      credentials: false,
      maxAge: 600,
    });
  }
  app.useWebSocketAdapter(new RelayWsAdapter(app));
  setupSwagger(app, config);
}

function setupSwagger(app: INestApplication, config: RelayConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(config.server.appName)
      .setDescription(
        'Publish JSON messages to topics over REST; consume them over WebSocket (`/ws`) or long-poll. ' +
          'Log in at `/auth/login`, then use the access token as a Bearer token.',
      )
      .setVersion(RELAY_VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json' });
}
