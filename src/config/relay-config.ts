/**
 * The validated, typed settings of one relay instance. It is also the DI token: inject `RelayConfig`.
 * Durations are in seconds. Built only by `loadConfig()`.
 */
export class RelayConfig {
  server!: {
    environment: 'development' | 'production' | 'test';
    host: string;
    httpPort: number;
    appName: string;
    logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
    allowedOrigins: string[];
    trustedHosts: string[];
    trustProxy: boolean;
    maxBodyBytes: number;
    fastPath: boolean;
    shutdownGrace: number;
    allowInsecureDefaults: boolean;
  };
  auth!: {
    jwtSecretKey: string;
    /** True when the key was generated at boot (development without a configured key). */
    jwtSecretEphemeral: boolean;
    accessTokenExpireMinutes: number;
    refreshTokenTtlDays: number;
    bcryptCost: number;
    userCacheTtl: number;
    bootstrapAdminUsername: string;
    bootstrapAdminPassword: string;
    bootstrapAdminEmail: string;
  };
  storage!: {
    backend: 'memory' | 'valkey';
    maxMessagesPerTopic: number;
    persistentTierRetention: number;
    hotTierRetention: number;
    hotTierMaxMessages: number;
    idempotencyWindow: number;
  };
  valkey!: {
    host: string;
    port: number;
    username: string;
    password: string;
    db: number;
    useTls: boolean;
    caPath: string;
    keyPrefix: string;
    clusterNodes: string[];
    connectTimeout: number;
    commandTimeout: number;
    poolSize: number;
  };
  limits!: {
    maxMessageSize: number;
    maxPayloadDepth: number;
    maxBulkMessages: number;
    maxConnectionsPerInstance: number;
    wsMaxPerUser: number;
    wsMaxTopicsPerSocket: number;
    wsMaxBufferedBytes: number;
    wsMaxFrameBytes: number;
    wsHeartbeatInterval: number;
    wsReplayMax: number;
    pollMaxTopics: number;
    pollMaxWaitersPerUser: number;
    pollMaxWaiters: number;
    pollBatchSize: number;
    loginPerMinute: number;
    loginPerIpPerMinute: number;
    refreshPerMinute: number;
    rateLimitPerClient: number;
  };
  metrics!: {
    perTopicLabels: boolean;
  };

  get isProduction(): boolean {
    return this.server.environment === 'production';
  }
}
