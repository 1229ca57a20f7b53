import { Logger } from '@nestjs/common';
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
