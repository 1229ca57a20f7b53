import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createApp } from './app.setup';
import { ConfigError, loadConfig } from './config/load-config';
import { RelayConfig } from './config/relay-config';
import { UsersService } from './users/users.service';

async function bootstrap(): Promise<void> {
  const warnings: string[] = [];
  let config: RelayConfig;
  try {
    config = loadConfig({ warnings });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await createApp(config);
  const logger = new Logger('Bootstrap');
  for (const warning of warnings) logger.warn(warning);
  // Graceful shutdown: stop accepting, answer polls, close sockets (1001), finish in-flight work.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`);
    const deadline = setTimeout(() => {
      logger.error('Shutdown grace period exceeded, exiting');
      process.exit(1);
    }, config.server.shutdownGrace * 1000);
    deadline.unref();
    // Keep-alive clients would otherwise keep their connections (and the server) open: every
    // response from now on closes its connection, and idle ones are closed at once.
    const server = app.getHttpServer();
    server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
      if (!response.headersSent) response.setHeader('Connection', 'close');
    });
    server.closeIdleConnections();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await app.listen(config.server.httpPort, config.server.host);
  const address = app.getHttpServer().address() as { port: number } | null;
  const host = ['0.0.0.0', '::'].includes(config.server.host) ? 'localhost' : config.server.host;
  const url = `http://${host}:${address?.port ?? config.server.httpPort}`;
  const lines = [
    `Pulsar Relay listening on ${url} (storage: ${config.storage.backend})`,
    `Swagger UI: ${url}/docs`,
  ];
  const generated = app.get(UsersService).generatedAdminPassword;
  if (generated) {
    lines.push(
      `Generated password for admin user '${config.auth.bootstrapAdminUsername}': ${generated}`,
      '(shown once; set PULSAR_BOOTSTRAP_ADMIN_PASSWORD to choose one)',
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

void bootstrap();
