import { nestedEnvName } from './load-config';
import { SETTINGS, SettingSpec } from './settings';

function formatDefault(spec: SettingSpec): string {
  const value = spec.default;
  if (spec.type === 'secret' && value === '') return '(none)';
  if (Array.isArray(value)) return value.length ? value.join(',') : '(empty)';
  if (value === '') return '(empty)';
  if (spec.type === 'duration') return `${String(value)}s`;
  return String(value);
}

function envNames(spec: SettingSpec): string[] {
  return [...(spec.env ?? []), nestedEnvName(spec.path)];
}

/** docs/CONFIGURATION.md, generated from the settings table. */
export function renderConfigurationDoc(): string {
  const sections = new Map<string, SettingSpec[]>();
  for (const spec of SETTINGS) {
    const section = spec.path.split('.')[0];
    sections.set(section, [...(sections.get(section) ?? []), spec]);
  }
  const out = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/settings.ts by scripts/gen-config-docs.ts; do not edit by hand. -->',
    '',
    'Settings are read once at start-up, in this order (later wins):',
    '',
    '1. built-in defaults (below);',
    '2. `config/default.yaml`;',
    '3. the YAML file named by `PULSAR_CONFIG_FILE`, if any;',
    '4. a `.env` file in the working directory;',
    '5. environment variables.',
    '',
    'Every setting has a nested YAML key (`section.key`) and the environment form',
    '`PULSAR_<SECTION>__<KEY>`; most also have the flat name used by the original pulsar-relay',
    '(first column of names). Durations accept seconds (`30`) or `500ms`, `30s`, `10m`, `24h`, `7d`.',
    'Lists accept a JSON list (`["a","b"]`) or a comma-separated string.',
    '',
    'Invalid values stop the relay with exit code 2 and one message listing every bad key.',
    'In production (`NODE_ENV=production`) the relay also refuses to start without a JWT secret of at',
    'least 32 characters (and not a known placeholder), without a bootstrap admin password, or with the',
    'Valkey backend but no Valkey password. In development a missing JWT secret is replaced by an',
    'ephemeral one and a missing admin password is generated and printed once.',
    '',
  ];
  for (const [section, specs] of sections) {
    out.push(
      `## ${section}`,
      '',
      '| YAML key | environment | default | description |',
      '|---|---|---|---|',
    );
    for (const spec of specs) {
      const names = envNames(spec)
        .map((n) => `\`${n}\``)
        .join(', ');
      const allowed = spec.values
        ? ` One of: ${spec.values.map((v) => `\`${v}\``).join(', ')}.`
        : '';
      const range =
        spec.min !== undefined || spec.max !== undefined
          ? ` Range: ${spec.min ?? '…'}–${spec.max ?? '…'}.`
          : '';
      out.push(
        `| \`${spec.path}\` | ${names} | \`${formatDefault(spec)}\` | ${spec.doc}${allowed}${range} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** .env.example, generated from the settings table: every setting, commented out, at its default. */
export function renderEnvExample(): string {
  const out = [
    '# Pulsar Relay settings (generated from src/config/settings.ts; see docs/CONFIGURATION.md).',
    '# Copy to .env and uncomment what you change. Environment variables override this file.',
    '',
  ];
  for (const spec of SETTINGS) {
    const name = envNames(spec)[0];
    const value = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    out.push(`# ${spec.doc}`, `# ${name}=${value}`, '');
  }
  return out.join('\n');
}
