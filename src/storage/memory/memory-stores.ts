import {
  KeyValueStore,
  RefreshTokenRecord,
  RevokeReason,
  StorageHealth,
  TokenStore,
  TopicGrant,
  TopicPatch,
  TopicRecord,
  TopicStats,
  TopicStore,
  UserPatch,
  UserRecord,
  UserStore,
} from '../ports';

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryUserStore extends UserStore {
  private readonly byId = new Map<string, UserRecord>();
  private readonly idByName = new Map<string, string>();

  async create(user: UserRecord): Promise<boolean> {
    if (this.idByName.has(user.username)) return false;
    this.idByName.set(user.username, user.userId);
    this.byId.set(user.userId, clone(user));
    return true;
  }

  async getById(userId: string): Promise<UserRecord | null> {
    const user = this.byId.get(userId);
    return user ? clone(user) : null;
  }

  async getByUsername(username: string): Promise<UserRecord | null> {
    const id = this.idByName.get(username);
    return id ? this.getById(id) : null;
  }

  async update(userId: string, patch: UserPatch): Promise<UserRecord | null> {
    const user = this.byId.get(userId);
    if (!user) return null;
    Object.assign(user, clone(patch));
    return clone(user);
  }

  async delete(userId: string): Promise<boolean> {
    const user = this.byId.get(userId);
    if (!user) return false;
    this.byId.delete(userId);
    this.idByName.delete(user.username);
    return true;
  }

  async list(): Promise<UserRecord[]> {
    return [...this.byId.values()].map(clone);
  }
}

export class MemoryTopicStore extends TopicStore {
  private readonly topics = new Map<string, TopicRecord>();

  async create(topic: Omit<TopicRecord, 'grants'>): Promise<boolean> {
    if (this.topics.has(topic.name)) return false;
    this.topics.set(topic.name, { ...clone(topic), grants: [] });
    return true;
  }

  async get(name: string): Promise<TopicRecord | null> {
    const topic = this.topics.get(name);
    return topic ? clone(topic) : null;
  }

  async update(name: string, patch: TopicPatch): Promise<TopicRecord | null> {
    const topic = this.topics.get(name);
    if (!topic) return null;
    if (patch.description !== undefined) topic.description = patch.description;
    if (patch.isPublic !== undefined) topic.isPublic = patch.isPublic;
    return clone(topic);
  }

  async delete(name: string): Promise<boolean> {
    return this.topics.delete(name);
  }

  async list(): Promise<TopicRecord[]> {
    return [...this.topics.values()].map(clone);
  }

  async listOwned(ownerId: string): Promise<string[]> {
    return [...this.topics.values()].filter((t) => t.ownerId === ownerId).map((t) => t.name);
  }

  async putGrant(name: string, grant: TopicGrant): Promise<boolean> {
    const topic = this.topics.get(name);
    if (!topic) return false;
    topic.grants = topic.grants.filter((g) => g.userId !== grant.userId);
    topic.grants.push(clone(grant));
    return true;
  }

  async removeGrant(name: string, userId: string): Promise<boolean> {
    const topic = this.topics.get(name);
    if (!topic) return false;
    const before = topic.grants.length;
    topic.grants = topic.grants.filter((g) => g.userId !== userId);
    return topic.grants.length !== before;
  }

  async stats(): Promise<TopicStats> {
    let publicTopics = 0;
    for (const t of this.topics.values()) if (t.isPublic) publicTopics++;
    return { totalTopics: this.topics.size, publicTopics };
  }
}

/** Expiring entries checked lazily on read and swept periodically. */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly clock: () => number) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  expiresAt(key: string): number {
    return this.entries.get(key)?.expiresAt ?? 0;
  }

  set(key: string, value: V, ttlSeconds: number): void {
    this.entries.set(key, {
      value,
      expiresAt: ttlSeconds > 0 ? this.clock() + ttlSeconds * 1000 : 0,
    });
  }

  /** Changes the value, keeping the expiry. */
  replace(key: string, value: V): void {
    const entry = this.entries.get(key);
    if (entry) entry.value = value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}

export class MemoryTokenStore extends TokenStore {
  private readonly refresh = new Map<string, RefreshTokenRecord>();
  private readonly denied: ExpiringMap<true>;

  constructor(private readonly clock: () => number = Date.now) {
    super();
    this.denied = new ExpiringMap(clock);
  }

  async saveRefresh(record: RefreshTokenRecord): Promise<void> {
    this.refresh.set(record.jti, clone(record));
  }

  async getRefresh(jti: string): Promise<RefreshTokenRecord | null> {
    const record = this.refresh.get(jti);
    return record ? clone(record) : null;
  }

  async revokeIfActive(jti: string, reason: RevokeReason): Promise<boolean> {
    const record = this.refresh.get(jti);
    if (!record || record.revoked) return false;
    record.revoked = true;
    record.revokedReason = reason;
    return true;
  }

  async revoke(jti: string, reason: RevokeReason): Promise<void> {
    const record = this.refresh.get(jti);
    if (!record) return;
    record.revoked = true;
    record.revokedReason = reason;
  }

  async touch(jti: string, lastUsedAt: string): Promise<void> {
    const record = this.refresh.get(jti);
    if (record) record.lastUsedAt = lastUsedAt;
  }

  async listForUser(userId: string): Promise<RefreshTokenRecord[]> {
    const now = this.clock();
    const out: RefreshTokenRecord[] = [];
    for (const [jti, record] of this.refresh) {
      // Forget records an hour past their expiry, as the Valkey driver's key TTL does.
      if (Date.parse(record.expiresAt) + 3_600_000 < now) this.refresh.delete(jti);
      else if (record.userId === userId) out.push(clone(record));
    }
    return out;
  }

  async denyAccessToken(jti: string, ttlSeconds: number): Promise<void> {
    this.denied.set(jti, true, Math.max(1, ttlSeconds));
  }

  async isAccessTokenDenied(jti: string): Promise<boolean> {
    return this.denied.get(jti) === true;
  }

  sweep(): void {
    this.denied.sweep();
  }
}

export class MemoryKeyValueStore extends KeyValueStore {
  private readonly map: ExpiringMap<string>;

  constructor(private readonly clock: () => number = Date.now) {
    super();
    this.map = new ExpiringMap(clock);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.map.get(key) !== undefined) return false;
    this.map.set(key, value, ttlSeconds);
    return true;
  }

  async get(key: string): Promise<string | null> {
    return this.map.get(key) ?? null;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.map.set(key, value, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  async increment(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    const current = this.map.get(key);
    if (current === undefined) {
      this.map.set(key, '1', windowSeconds);
      return { count: 1, ttlMs: windowSeconds * 1000 };
    }
    const count = Number(current) + 1;
    this.map.replace(key, String(count));
    return { count, ttlMs: Math.max(0, this.map.expiresAt(key) - this.clock()) };
  }

  sweep(): void {
    this.map.sweep();
  }
}

export class MemoryStorageHealth extends StorageHealth {
  readonly backend = 'memory' as const;

  async ping(): Promise<void> {
    // Always reachable.
  }
}
