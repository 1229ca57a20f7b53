import type { NestExpressApplication } from '@nestjs/platform-express';
import { register } from 'prom-client';
import { createApp } from '../../src/app.setup';
import { loadConfig } from '../../src/config/load-config';
import { RelayConfig } from '../../src/config/relay-config';

export const TEST_ADMIN = { username: 'admin', password: 'admin-password-for-tests' };
export const TEST_JWT_SECRET = 'test-secret-key-that-is-long-enough-0123456789abcdef';

export interface TestApp {
  app: NestExpressApplication;
  config: RelayConfig;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string;
  close(): Promise<void>;
}

export interface StartAppOptions {
  /** Settings by path, e.g. `{ 'storage.backend': 'valkey', 'valkey.port': 1234 }`. */
  overrides?: Record<string, unknown>;
  /** Environment seen by the config loader (the real process env is NOT read). */
  env?: Record<string, string>;
}

let liveApps = 0;

/** Boots the real application (production pipeline via `createApp`) on 127.0.0.1 and a free port. */
export async function startApp(options: StartAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    env: options.env ?? {},
    overrides: {
      'server.host': '127.0.0.1',
      'server.http_port': 0,
      'server.log_level': 'silent',
      'auth.bcrypt_cost': 4,
      'auth.jwt_secret_key': TEST_JWT_SECRET,
      'auth.bootstrap_admin_username': TEST_ADMIN.username,
      'auth.bootstrap_admin_password': TEST_ADMIN.password,
      ...options.overrides,
    },
  });
  // Several apps may share this process (multi-instance tests) and so the metric registry.
  if (liveApps === 0) register.clear();
  const app = await createApp(config);
  await app.listen(config.server.httpPort, config.server.host);
  liveApps++;
  const { port } = app.getHttpServer().address() as { port: number };
  let closed = false;
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      liveApps--;
    },
  };
}
