import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderConfigurationDoc, renderEnvExample } from './config-docs';
import { ConfigError, loadConfig } from './load-config';

function workspace(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-config-'));
  mkdirSync(join(dir, 'config'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is configured', () => {
    const sut = loadConfig({ env: {}, cwd: workspace() });
    expect(sut.server.httpPort).toBe(8080);
    expect(sut.server.host).toBe('0.0.0.0');
    expect(sut.storage.backend).toBe('memory');
    expect(sut.storage.persistentTierRetention).toBe(86400);
    expect(sut.auth.accessTokenExpireMinutes * 60).toBeGreaterThan(300);
    expect(sut.limits.maxBulkMessages).toBe(100);
    expect(sut.isProduction).toBe(false);
  });

  it('applies default.yaml < PULSAR_CONFIG_FILE < .env < environment < overrides', () => {
    const cwd = workspace({
      'config/default.yaml':
        'server:\n  http_port: 1001\n  app_name: from-default\nvalkey:\n  host: a\n  port: 1\n  db: 1\n',
      'custom.yaml': 'server:\n  http_port: 1002\nvalkey:\n  host: b\n  port: 2\n',
      '.env': 'PULSAR_HTTP_PORT=1003\nPULSAR_VALKEY_HOST=c\n',
    });
    const sut = loadConfig({
      cwd,
      env: { PULSAR_CONFIG_FILE: 'custom.yaml', PULSAR_HTTP_PORT: '1004' },
      overrides: { 'valkey.db': 3 },
    });
    expect(sut.server.appName).toBe('from-default');
    expect(sut.valkey.port).toBe(2);
    expect(sut.valkey.host).toBe('c');
    expect(sut.server.httpPort).toBe(1004);
    expect(sut.valkey.db).toBe(3);
  });

  it('falls back to PORT, and accepts the nested PULSAR_<SECTION>__<KEY> form', () => {
    const cwd = workspace();
    expect(loadConfig({ cwd, env: { PORT: '9000' } }).server.httpPort).toBe(9000);
    expect(
      loadConfig({ cwd, env: { PORT: '9000', PULSAR_HTTP_PORT: '9001' } }).server.httpPort,
    ).toBe(9001);
    const nested = loadConfig({ cwd, env: { PULSAR_LIMITS__MAX_BULK_MESSAGES: '7' } });
    expect(nested.limits.maxBulkMessages).toBe(7);
  });

  it("reads the seeds' nested YAML as written, durations and all", () => {
    const cwd = workspace({
      'config/default.yaml': [
        'server:',
        '  http_port: 8080',
        '  ws_port: 8081',
        '  read_timeout: 30s',
        'valkey:',
        '  host: localhost',
        '  port: 6379',
        '  password: ""',
        '  db: 0',
        '  pool_size: 10',
        'storage:',
        '  hot_tier_retention: 10m',
        '  persistent_tier_retention: 24h',
        '  max_messages_per_topic: 1000000',
        'limits:',
        '  max_connections_per_instance: 10000',
        '  max_message_size: 1048576',
        '  rate_limit_per_client: 1000',
      ].join('\n'),
    });
    const warnings: string[] = [];
    const sut = loadConfig({ cwd, env: {}, warnings });
    expect(sut.storage.hotTierRetention).toBe(600);
    expect(sut.storage.persistentTierRetention).toBe(86400);
    expect(sut.valkey.poolSize).toBe(10);
    expect(sut.limits.maxConnectionsPerInstance).toBe(10000);
    expect(sut.limits.rateLimitPerClient).toBe(1000);
    expect(warnings).toEqual([expect.stringContaining('ephemeral')]);
  });

  it('lists every bad key at once', () => {
    const cwd = workspace({ 'config/default.yaml': 'server:\n  http_port: nope\n' });
    const problems = problemsOf(() =>
      loadConfig({
        cwd,
        env: {
          PULSAR_STORAGE_BACKEND: 'postgres',
          PULSAR_PERSISTENT_TIER_RETENTION: 'forever',
          PULSAR_MAX_BULK_MESSAGES: '0',
          PULSAR_VALKEY_USE_TLS: 'maybe',
        },
      }),
    );
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toEqual(
      expect.stringMatching(
        /http_port[\s\S]*PULSAR_STORAGE_BACKEND[\s\S]*PULSAR_PERSISTENT_TIER_RETENTION/,
      ),
    );
  });

  it('refuses insecure settings in production', () => {
    const cwd = workspace();
    const problems = problemsOf(() =>
      loadConfig({
        cwd,
        env: {
          NODE_ENV: 'production',
          PULSAR_JWT_SECRET_KEY: 'your-secret-key-here-change-in-production',
          PULSAR_STORAGE_BACKEND: 'valkey',
        },
      }),
    );
    expect(problems.join('\n')).toMatch(/JWT_SECRET_KEY/);
    expect(problems.join('\n')).toMatch(/BOOTSTRAP_ADMIN_PASSWORD/);
    expect(problems.join('\n')).toMatch(/VALKEY_PASSWORD/);
    const ok = loadConfig({
      cwd,
      env: {
        NODE_ENV: 'production',
        PULSAR_JWT_SECRET_KEY: 'x'.repeat(40),
        PULSAR_BOOTSTRAP_ADMIN_PASSWORD: 'a-strong-password',
        PULSAR_STORAGE_BACKEND: 'valkey',
        PULSAR_VALKEY_PASSWORD: 'pw',
      },
    });
    expect(ok.isProduction).toBe(true);
  });

  it('generates an ephemeral JWT secret in development', () => {
    const sut = loadConfig({ cwd: workspace(), env: {} });
    expect(sut.auth.jwtSecretEphemeral).toBe(true);
    expect(sut.auth.jwtSecretKey.length).toBeGreaterThanOrEqual(32);
  });
});

describe('generated configuration docs', () => {
  const root = join(__dirname, '..', '..');
  it('docs/CONFIGURATION.md and .env.example are current (run scripts/gen-config-docs.ts)', () => {
    expect(readFileSync(join(root, 'docs', 'CONFIGURATION.md'), 'utf8')).toBe(
      renderConfigurationDoc(),
    );
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toBe(renderEnvExample());
  });
});
