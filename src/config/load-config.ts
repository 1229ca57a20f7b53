import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import { RelayConfig } from './relay-config';
import { SETTINGS, SettingSpec, SettingValue, coerceSetting } from './settings';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadConfigOptions {
  /** Process environment (defaults to `process.env`). */
  env?: Record<string, string | undefined>;
  /** Directory holding `config/default.yaml` and `.env` (defaults to the working directory). */
  cwd?: string;
  /** Values by setting path (`storage.backend`), applied last: used by tests and tools. */
  overrides?: Record<string, unknown>;
  /** Notices that do not stop the boot (unknown keys, ephemeral secrets). */
  warnings?: string[];
}

const PLACEHOLDER_SECRETS = new Set([
  'your-secret-key-here-change-in-production',
  'your-secure-secret-key',
  'change-me',
  'changeme',
  'secret',
]);

/** Keys of the seed documents' YAML that have no effect here; accepted without a warning. */
const IGNORED_KEYS = new Set(['server.ws_port', 'server.read_timeout', 'server.write_timeout']);

export function nestedEnvName(path: string): string {
  const [section, key] = path.split('.');
  return `PULSAR_${section.toUpperCase()}__${key.toUpperCase()}`;
}

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

function readYaml(file: string, problems: string[]): Record<string, unknown> {
  try {
    const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      problems.push(`${file}: must be a YAML mapping`);
      return {};
    }
    return doc as Record<string, unknown>;
  } catch (err) {
    problems.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
}

function flatten(doc: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [section, body] of Object.entries(doc)) {
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
        out.set(`${section}.${key}`, value);
      }
    } else {
      out.set(section, body);
    }
  }
  return out;
}

/**
 * Loads settings from defaults < config/default.yaml < $PULSAR_CONFIG_FILE < .env < environment
 * < overrides, validates all of them and throws one `ConfigError` listing every bad key.
 */
export function loadConfig(options: LoadConfigOptions = {}): RelayConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const warnings = options.warnings ?? [];
  const problems: string[] = [];
  const known = new Map(SETTINGS.map((s) => [s.path, s]));
  const raw = new Map<string, { value: unknown; source: string }>();

  const files = [resolve(cwd, 'config/default.yaml')];
  if (env.PULSAR_CONFIG_FILE) {
    const file = resolve(cwd, env.PULSAR_CONFIG_FILE);
    if (!existsSync(file)) problems.push(`PULSAR_CONFIG_FILE: ${file} does not exist`);
    else files.push(file);
  }
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const [path, value] of flatten(readYaml(file, problems))) {
      if (known.has(path)) raw.set(path, { value, source: `${file}: ${path}` });
      else if (!IGNORED_KEYS.has(path)) warnings.push(`${file}: unknown key ${path} ignored`);
    }
  }

  const envLayers: Array<[string, Record<string, string | undefined>]> = [];
  const dotenvFile = resolve(cwd, '.env');
  if (existsSync(dotenvFile)) envLayers.push(['.env', parseDotenv(readFileSync(dotenvFile))]);
  envLayers.push(['environment', env]);
  for (const [layer, vars] of envLayers) {
    for (const spec of SETTINGS) {
      for (const name of [...(spec.env ?? []), nestedEnvName(spec.path)]) {
        const value = vars[name];
        if (value !== undefined) {
          raw.set(spec.path, { value, source: `${layer}: ${name}` });
          break;
        }
      }
    }
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (!known.has(path)) problems.push(`override ${path}: unknown setting`);
    else raw.set(path, { value, source: `override ${path}` });
  }

  const values = new Map<string, SettingValue>();
  for (const spec of SETTINGS) {
    const given = raw.get(spec.path);
    if (!given) {
      values.set(spec.path, spec.default as SettingValue);
      continue;
    }
    const result = coerceSetting(spec, given.value);
    if (result.error !== undefined) problems.push(`${given.source} ${result.error}`);
    else values.set(spec.path, result.value as SettingValue);
  }
  if (problems.length) throw new ConfigError(problems);

  const config = assemble(values);
  checkSecurity(config, problems, warnings);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

function assemble(values: Map<string, SettingValue>): RelayConfig {
  const config = new RelayConfig() as unknown as Record<string, Record<string, unknown>>;
  for (const spec of SETTINGS as SettingSpec[]) {
    const [section, key] = spec.path.split('.');
    config[section] ??= {};
    config[section][camel(key)] = values.get(spec.path);
  }
  const typed = config as unknown as RelayConfig;
  typed.auth.jwtSecretEphemeral = false;
  return typed;
}

function checkSecurity(config: RelayConfig, problems: string[], warnings: string[]): void {
  const secret = config.auth.jwtSecretKey;
  const insecureSecret = secret.length < 32 || PLACEHOLDER_SECRETS.has(secret.toLowerCase());
  if (config.isProduction && !config.server.allowInsecureDefaults) {
    if (insecureSecret) {
      problems.push(
        'PULSAR_JWT_SECRET_KEY must be set to a random value of at least 32 characters in production',
      );
    }
    if (!config.auth.bootstrapAdminPassword) {
      problems.push('PULSAR_BOOTSTRAP_ADMIN_PASSWORD must be set in production');
    }
    if (config.storage.backend === 'valkey' && !config.valkey.password) {
      problems.push('PULSAR_VALKEY_PASSWORD must be set in production with the valkey backend');
    }
    if (config.server.trustedHosts.length === 0) {
      problems.push('PULSAR_TRUSTED_HOSTS must not be empty');
    }
    return;
  }
  if (!secret) {
    config.auth.jwtSecretKey = randomBytes(48).toString('base64url');
    config.auth.jwtSecretEphemeral = true;
    warnings.push(
      'No PULSAR_JWT_SECRET_KEY configured: using an ephemeral key (tokens die with this process).',
    );
  } else if (insecureSecret) {
    warnings.push('PULSAR_JWT_SECRET_KEY is shorter than 32 characters or a placeholder.');
  }
}
