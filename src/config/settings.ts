import { parseDurationSeconds } from './duration';

export type SettingType = 'string' | 'int' | 'bool' | 'duration' | 'list' | 'enum' | 'secret';

/**
 * One configurable setting. `path` is the nested YAML key (`section.key`); every setting can also be
 * set with `PULSAR_<SECTION>__<KEY>` and with the flat names in `env` (UPSTREAM.md §6 names first).
 */
export interface SettingSpec {
  path: string;
  type: SettingType;
  default: unknown;
  env?: string[];
  min?: number;
  max?: number;
  values?: readonly string[];
  doc: string;
}

const MiB = 1024 * 1024;

export const SETTINGS: readonly SettingSpec[] = [
  // server
  {
    path: 'server.environment',
    type: 'enum',
    values: ['development', 'production', 'test'],
    default: 'development',
    env: ['PULSAR_ENV', 'NODE_ENV'],
    doc: 'Run mode. `production` refuses insecure settings.',
  },
  {
    path: 'server.host',
    type: 'string',
    default: '0.0.0.0',
    env: ['PULSAR_HOST'],
    doc: 'Bind address.',
  },
  {
    path: 'server.http_port',
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    env: ['PULSAR_HTTP_PORT', 'PORT'],
    doc: 'HTTP and WebSocket port (0 = any free port).',
  },
  {
    path: 'server.app_name',
    type: 'string',
    default: 'Pulsar Relay',
    env: ['PULSAR_APP_NAME'],
    doc: 'Title shown in the OpenAPI document.',
  },
  {
    path: 'server.log_level',
    type: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    env: ['PULSAR_LOG_LEVEL'],
    doc: 'Log level of the JSON logs (case-insensitive).',
  },
  {
    path: 'server.allowed_origins',
    type: 'list',
    default: [],
    env: ['PULSAR_ALLOWED_ORIGINS'],
    doc: 'CORS and WebSocket Origin allow-list (exact origins; JSON list or comma-separated). Empty = no cross-origin browser access.',
  },
  {
    path: 'server.trusted_hosts',
    type: 'list',
    default: ['*'],
    env: ['PULSAR_TRUSTED_HOSTS'],
    doc: 'Accepted Host headers (`*.example.com` patterns allowed, `*` = any). Others get 400.',
  },
  {
    path: 'server.trust_proxy',
    type: 'bool',
    default: false,
    env: ['PULSAR_TRUST_PROXY'],
    doc: 'Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).',
  },
  {
    path: 'server.max_body_bytes',
    type: 'int',
    default: MiB + 64 * 1024,
    min: 1024,
    env: ['PULSAR_MAX_BODY_BYTES'],
    doc: 'Largest accepted HTTP request body, chunked or not (413 above).',
  },
  {
    path: 'server.fast_path',
    type: 'bool',
    default: true,
    env: ['PULSAR_FAST_PATH'],
    doc: 'Serve plain JSON publishes (`POST /api/v1/messages`, `/bulk`) below the Express router: same checks and answers, several times the throughput. Off: every request goes through Express.',
  },
  {
    path: 'server.shutdown_grace',
    type: 'duration',
    default: 10,
    env: ['PULSAR_SHUTDOWN_GRACE'],
    doc: 'Longest time a graceful shutdown waits for in-flight work.',
  },
  {
    path: 'server.allow_insecure_defaults',
    type: 'bool',
    default: false,
    env: ['PULSAR_ALLOW_INSECURE_DEFAULTS'],
    doc: 'Skip the production safety checks (never in real deployments).',
  },
  // auth
  {
    path: 'auth.jwt_secret_key',
    type: 'secret',
    default: '',
    env: ['PULSAR_JWT_SECRET_KEY'],
    doc: 'HS256 signing key, at least 32 characters. Empty in development = an ephemeral random key.',
  },
  {
    path: 'auth.access_token_expire_minutes',
    type: 'int',
    default: 60,
    min: 6,
    max: 1440,
    env: ['PULSAR_ACCESS_TOKEN_EXPIRE_MINUTES'],
    doc: 'Access-token lifetime in minutes (must exceed 5 for the official client).',
  },
  {
    path: 'auth.refresh_token_ttl_days',
    type: 'int',
    default: 90,
    min: 1,
    max: 365,
    env: ['PULSAR_REFRESH_TOKEN_TTL_DAYS'],
    doc: 'Refresh-token lifetime in days, counted from each rotation.',
  },
  {
    path: 'auth.bcrypt_cost',
    type: 'int',
    default: 12,
    min: 4,
    max: 15,
    env: ['PULSAR_BCRYPT_COST'],
    doc: 'bcrypt cost factor for password hashes.',
  },
  {
    path: 'auth.user_cache_ttl',
    type: 'duration',
    default: 5,
    env: ['PULSAR_USER_CACHE_TTL'],
    doc: 'How long a user record (permissions, active flag) and a token\'s "not revoked" status are cached per instance; changes and logouts are also pushed to every instance at once. 0 = read storage on every request.',
  },
  {
    path: 'auth.bootstrap_admin_username',
    type: 'string',
    default: 'admin',
    env: ['PULSAR_BOOTSTRAP_ADMIN_USERNAME'],
    doc: 'Username of the admin created at start-up.',
  },
  {
    path: 'auth.bootstrap_admin_password',
    type: 'secret',
    default: '',
    env: ['PULSAR_BOOTSTRAP_ADMIN_PASSWORD'],
    doc: 'Password of the bootstrap admin; rotated when changed. Empty in development = generated and printed once.',
  },
  {
    path: 'auth.bootstrap_admin_email',
    type: 'string',
    default: '',
    env: ['PULSAR_BOOTSTRAP_ADMIN_EMAIL'],
    doc: 'E-mail of the bootstrap admin.',
  },
  // storage
  {
    path: 'storage.backend',
    type: 'enum',
    values: ['memory', 'valkey'],
    default: 'memory',
    env: ['PULSAR_STORAGE_BACKEND'],
    doc: '`memory` (embedded, single instance) or `valkey` (durable, shared by replicas).',
  },
  {
    path: 'storage.max_messages_per_topic',
    type: 'int',
    default: 1_000_000,
    min: 1,
    env: ['PULSAR_MAX_MESSAGES_PER_TOPIC'],
    doc: 'Retention by count (approximate trim).',
  },
  {
    path: 'storage.persistent_tier_retention',
    type: 'duration',
    default: 86400,
    env: ['PULSAR_PERSISTENT_TIER_RETENTION'],
    doc: 'Retention by age of stored messages (`24h`, `7d`, seconds). 0 = keep until count retention trims.',
  },
  {
    path: 'storage.hot_tier_retention',
    type: 'duration',
    default: 600,
    env: ['PULSAR_HOT_TIER_RETENTION'],
    doc: 'Valkey backend: how long recent messages stay in the in-memory hot tier.',
  },
  {
    path: 'storage.hot_tier_max_messages',
    type: 'int',
    default: 1000,
    min: 0,
    env: ['PULSAR_HOT_TIER_MAX_MESSAGES'],
    doc: 'Valkey backend: recent messages kept in memory per topic (0 disables the hot tier).',
  },
  {
    path: 'storage.idempotency_window',
    type: 'duration',
    default: 600,
    env: ['PULSAR_IDEMPOTENCY_WINDOW'],
    doc: 'How long an `Idempotency-Key` is remembered.',
  },
  // valkey
  {
    path: 'valkey.host',
    type: 'string',
    default: 'localhost',
    env: ['PULSAR_VALKEY_HOST'],
    doc: 'Valkey/Redis host.',
  },
  {
    path: 'valkey.port',
    type: 'int',
    default: 6379,
    min: 1,
    max: 65535,
    env: ['PULSAR_VALKEY_PORT'],
    doc: 'Valkey/Redis port.',
  },
  {
    path: 'valkey.username',
    type: 'string',
    default: '',
    env: ['PULSAR_VALKEY_USERNAME'],
    doc: 'ACL username (`default` when only a password is set).',
  },
  {
    path: 'valkey.password',
    type: 'secret',
    default: '',
    env: ['PULSAR_VALKEY_PASSWORD'],
    doc: 'Valkey password (required in production).',
  },
  {
    path: 'valkey.db',
    type: 'int',
    default: 0,
    min: 0,
    max: 15,
    env: ['PULSAR_VALKEY_DB'],
    doc: 'Database number (standalone only).',
  },
  {
    path: 'valkey.use_tls',
    type: 'bool',
    default: false,
    env: ['PULSAR_VALKEY_USE_TLS'],
    doc: 'Connect with TLS.',
  },
  {
    path: 'valkey.ca_path',
    type: 'string',
    default: '',
    env: ['PULSAR_VALKEY_CA_PATH'],
    doc: 'CA bundle (PEM) to verify the Valkey TLS certificate.',
  },
  {
    path: 'valkey.key_prefix',
    type: 'string',
    default: 'pulsar:',
    env: ['PULSAR_VALKEY_KEY_PREFIX'],
    doc: 'Prefix of every key the relay writes.',
  },
  {
    path: 'valkey.cluster_nodes',
    type: 'list',
    default: [],
    env: ['PULSAR_VALKEY_CLUSTER_NODES'],
    doc: 'Valkey Cluster seed nodes `host:port,…`; when set the cluster client is used.',
  },
  {
    path: 'valkey.connect_timeout',
    type: 'duration',
    default: 5,
    env: ['PULSAR_VALKEY_CONNECT_TIMEOUT'],
    doc: 'Connect timeout.',
  },
  {
    path: 'valkey.command_timeout',
    type: 'duration',
    default: 2,
    env: ['PULSAR_VALKEY_COMMAND_TIMEOUT'],
    doc: 'Per-command timeout; a publish fails with 503 after it.',
  },
  {
    path: 'valkey.pool_size',
    type: 'int',
    default: 1,
    min: 1,
    max: 64,
    env: ['PULSAR_VALKEY_POOL_SIZE'],
    doc: 'Command connections (ioredis pipelines automatically; more connections rarely help).',
  },
  // limits
  {
    path: 'limits.max_message_size',
    type: 'int',
    default: MiB,
    min: 64,
    env: ['PULSAR_MAX_MESSAGE_SIZE'],
    doc: 'Largest message (`payload` + `metadata` as JSON) in bytes (413 above).',
  },
  {
    path: 'limits.max_payload_depth',
    type: 'int',
    default: 64,
    min: 1,
    max: 1000,
    env: ['PULSAR_MAX_PAYLOAD_DEPTH'],
    doc: 'Deepest nesting of objects and arrays accepted in a message payload (422 above).',
  },
  {
    path: 'limits.max_bulk_messages',
    type: 'int',
    default: 100,
    min: 1,
    max: 10000,
    env: ['PULSAR_MAX_BULK_MESSAGES'],
    doc: 'Most messages in one bulk publish.',
  },
  {
    path: 'limits.max_connections_per_instance',
    type: 'int',
    default: 20000,
    min: 1,
    env: ['PULSAR_MAX_CONNECTIONS_PER_INSTANCE'],
    doc: 'WebSocket connections one instance accepts.',
  },
  {
    path: 'limits.ws_max_per_user',
    type: 'int',
    default: 100,
    min: 1,
    env: ['PULSAR_WS_MAX_PER_USER'],
    doc: 'WebSocket connections per user per instance.',
  },
  {
    path: 'limits.ws_max_topics_per_socket',
    type: 'int',
    default: 50,
    min: 1,
    env: ['PULSAR_WS_MAX_TOPICS_PER_SOCKET'],
    doc: 'Topics one WebSocket may subscribe to.',
  },
  {
    path: 'limits.ws_max_buffered_bytes',
    type: 'int',
    default: 4 * MiB,
    min: 1024,
    env: ['PULSAR_WS_MAX_BUFFERED_BYTES'],
    doc: 'Send buffer beyond which a slow consumer is disconnected (close 1013).',
  },
  {
    path: 'limits.ws_max_frame_bytes',
    type: 'int',
    default: 64 * 1024,
    min: 256,
    env: ['PULSAR_WS_MAX_FRAME_BYTES'],
    doc: 'Largest client frame accepted.',
  },
  {
    path: 'limits.ws_heartbeat_interval',
    type: 'duration',
    default: 30,
    env: ['PULSAR_WS_HEARTBEAT_INTERVAL'],
    doc: 'Protocol ping interval; a peer missing one pong is dropped.',
  },
  {
    path: 'limits.ws_replay_max',
    type: 'int',
    default: 10000,
    min: 1,
    env: ['PULSAR_WS_REPLAY_MAX'],
    doc: 'Most messages replayed per topic on subscribe.',
  },
  {
    path: 'limits.poll_max_topics',
    type: 'int',
    default: 20,
    min: 1,
    env: ['PULSAR_POLL_MAX_TOPICS'],
    doc: 'Topics in one long-poll request.',
  },
  {
    path: 'limits.poll_max_waiters_per_user',
    type: 'int',
    default: 50,
    min: 1,
    env: ['PULSAR_POLL_MAX_WAITERS_PER_USER'],
    doc: 'Concurrent long-polls per user per instance (429 above).',
  },
  {
    path: 'limits.poll_max_waiters',
    type: 'int',
    default: 20000,
    min: 1,
    env: ['PULSAR_POLL_MAX_WAITERS'],
    doc: 'Concurrent long-polls per instance (429 above).',
  },
  {
    path: 'limits.poll_batch_size',
    type: 'int',
    default: 100,
    min: 1,
    max: 1000,
    env: ['PULSAR_POLL_BATCH_SIZE'],
    doc: 'Messages per topic returned by one poll.',
  },
  {
    path: 'limits.login_per_minute',
    type: 'int',
    default: 10,
    min: 0,
    env: ['PULSAR_LOGIN_RATE_LIMIT'],
    doc: 'Logins per minute per (IP, username); 0 = unlimited.',
  },
  {
    path: 'limits.login_per_ip_per_minute',
    type: 'int',
    default: 300,
    min: 0,
    env: ['PULSAR_LOGIN_IP_RATE_LIMIT'],
    doc: 'Logins per minute per IP; 0 = unlimited.',
  },
  {
    path: 'limits.refresh_per_minute',
    type: 'int',
    default: 30,
    min: 0,
    env: ['PULSAR_REFRESH_RATE_LIMIT'],
    doc: 'Token refreshes per minute per IP; 0 = unlimited.',
  },
  {
    path: 'limits.rate_limit_per_client',
    type: 'int',
    default: 0,
    min: 0,
    env: ['PULSAR_RATE_LIMIT_PER_CLIENT'],
    doc: 'Publishes (single or bulk requests) per minute per user; 0 = unlimited.',
  },
  // metrics
  {
    path: 'metrics.per_topic_labels',
    type: 'bool',
    default: false,
    env: ['PULSAR_METRICS_PER_TOPIC'],
    doc: 'Add a `topic` label to message metrics (watch cardinality).',
  },
];

export type SettingValue = string | number | boolean | string[];

/** Converts a raw value (from YAML or an env string) to the setting's type; returns an error text on failure. */
export function coerceSetting(
  spec: SettingSpec,
  raw: unknown,
): { value?: SettingValue; error?: string } {
  const fromEnv = typeof raw === 'string';
  switch (spec.type) {
    case 'string':
    case 'secret':
      if (raw === null || raw === undefined) return { value: '' };
      if (typeof raw !== 'string' && typeof raw !== 'number') return { error: 'must be a string' };
      return { value: String(raw) };
    case 'int': {
      const n = fromEnv ? Number(raw.trim()) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || (fromEnv && raw.trim() === '')) {
        return { error: 'must be an integer' };
      }
      if (spec.min !== undefined && n < spec.min) return { error: `must be >= ${spec.min}` };
      if (spec.max !== undefined && n > spec.max) return { error: `must be <= ${spec.max}` };
      return { value: n };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw };
      const s = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return { value: true };
      if (['0', 'false', 'no', 'off', ''].includes(s)) return { value: false };
      return { error: 'must be a boolean (true/false)' };
    }
    case 'duration': {
      const seconds = parseDurationSeconds(raw);
      if (seconds === null) return { error: 'must be a duration such as 30, 30s, 10m, 24h' };
      return { value: seconds };
    }
    case 'enum': {
      const s = String(raw).trim().toLowerCase();
      if (!spec.values?.includes(s)) return { error: `must be one of ${spec.values?.join(', ')}` };
      return { value: s };
    }
    case 'list': {
      if (Array.isArray(raw)) {
        if (!raw.every((x) => typeof x === 'string')) return { error: 'must be a list of strings' };
        return { value: raw };
      }
      if (typeof raw !== 'string') return { error: 'must be a list' };
      const s = raw.trim();
      if (s.startsWith('[')) {
        try {
          const parsed: unknown = JSON.parse(s);
          if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) {
            return { value: parsed };
          }
        } catch {
          /* fall through to the error below */
        }
        return { error: 'must be a JSON list of strings' };
      }
      return {
        value:
          s === ''
            ? []
            : s
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean),
      };
    }
  }
}
