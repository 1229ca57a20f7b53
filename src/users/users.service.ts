import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { RelayConfig } from '../config/relay-config';
import { setBounded } from '../common/bounded-map';
import { BadRequestError, NotFoundError } from '../common/errors';
import {
  MessageBus,
  Permission,
  TokenStore,
  TopicStore,
  UserPatch,
  UserRecord,
  UserStore,
} from '../storage/ports';
import { UserPublicDto, UserStatsDto } from './dto/user-public.dto';

export interface NewUser {
  username: string;
  password: string;
  email?: string | null;
  permissions: Permission[];
}

export interface UserChanges {
  email?: string | null;
  password?: string;
  permissions?: Permission[];
  isActive?: boolean;
}

interface CachedUser {
  user: UserRecord | null;
  expiresAt: number;
}

const USER_CACHE_MAX_ENTRIES = 10_000;

/**
 * bcrypt only reads the first 72 bytes of its input, so a long password would be silently
 * truncated; hashing it first gives every password, whatever its length, a 44-byte input.
 */
function bcryptInput(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}

@Injectable()
export class UsersService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(UsersService.name);
  /** Set when the bootstrap admin's password was generated at this start (development only). */
  generatedAdminPassword: string | null = null;
  private dummyHash: Promise<string> | null = null;
  private readonly cache = new Map<string, CachedUser>();
  /** Bumped by every invalidation, so a lookup that raced with one does not cache stale data. */
  private cacheGeneration = 0;

  constructor(
    private readonly users: UserStore,
    private readonly topics: TopicStore,
    private readonly tokens: TokenStore,
    private readonly bus: MessageBus,
    private readonly config: RelayConfig,
  ) {}

  onModuleInit(): void {
    this.bus.onControl((event) => {
      if (event.kind === 'user-changed') this.forget(event.userId);
    });
    // Events may have been missed while the bus was disconnected.
    this.bus.onResync(() => this.forgetAll());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.getDummyHash();
    await this.ensureBootstrapAdmin();
  }

  async create(input: NewUser): Promise<UserRecord> {
    const record: UserRecord = {
      userId: randomUUID(),
      username: input.username,
      email: input.email ?? null,
      hashedPassword: await this.hash(input.password),
      isActive: true,
      createdAt: new Date().toISOString(),
      permissions: [...new Set(input.permissions)],
    };
    if (!(await this.users.create(record))) {
      throw new BadRequestError(`Username '${input.username}' already exists`, 'USERNAME_TAKEN');
    }
    return record;
  }

  findById(userId: string): Promise<UserRecord | null> {
    return this.users.getById(userId);
  }

  /**
   * The stored user for authentication: cached on this instance for `auth.userCacheTtl` seconds,
   * dropped at once on every instance when the user changes (`user-changed` events).
   */
  async findForAuth(userId: string): Promise<UserRecord | null> {
    const cached = this.cachedForAuth(userId);
    if (cached !== undefined) return cached;
    const now = Date.now();
    const generation = this.cacheGeneration;
    const user = await this.users.getById(userId);
    const ttlMs = this.config.auth.userCacheTtl * 1000;
    if (ttlMs > 0 && generation === this.cacheGeneration) {
      setBounded(this.cache, userId, { user, expiresAt: now + ttlMs }, USER_CACHE_MAX_ENTRIES);
    }
    return user;
  }

  /** `findForAuth`'s cached answer without a storage read: undefined when there is none. */
  cachedForAuth(userId: string): UserRecord | null | undefined {
    const cached = this.cache.get(userId);
    return cached && cached.expiresAt > Date.now() ? cached.user : undefined;
  }

  /** Drops this instance's cached copy of a user. */
  forget(userId: string): void {
    this.cacheGeneration++;
    this.cache.delete(userId);
  }

  forgetAll(): void {
    this.cacheGeneration++;
    this.cache.clear();
  }

  findByUsername(username: string): Promise<UserRecord | null> {
    return this.users.getByUsername(username);
  }

  list(): Promise<UserRecord[]> {
    return this.users.list();
  }

  async stats(): Promise<UserStatsDto> {
    const users = await this.users.list();
    return {
      total_users: users.length,
      active_users: users.filter((u) => u.isActive).length,
    };
  }

  async update(userId: string, changes: UserChanges): Promise<UserRecord> {
    const patch: UserPatch = {};
    if (changes.email !== undefined) patch.email = changes.email;
    if (changes.permissions !== undefined) patch.permissions = [...new Set(changes.permissions)];
    if (changes.isActive !== undefined) patch.isActive = changes.isActive;
    if (changes.password !== undefined) patch.hashedPassword = await this.hash(changes.password);
    const updated = await this.users.update(userId, patch);
    if (!updated) throw new NotFoundError(`User with ID '${userId}' not found`, 'USER_NOT_FOUND');
    await this.announceChange(userId);
    return updated;
  }

  /** Deletes the user and revokes its refresh tokens; its topics stay. */
  async delete(userId: string): Promise<void> {
    if (!(await this.users.delete(userId))) {
      throw new NotFoundError(`User with ID '${userId}' not found`, 'USER_NOT_FOUND');
    }
    await this.announceChange(userId);
    for (const token of await this.tokens.listForUser(userId)) {
      if (!token.revoked) await this.tokens.revoke(token.jti, 'user_gone');
    }
  }

  /**
   * Checks a password in constant time with respect to whether the user exists: an unknown user
   * still costs one bcrypt comparison.
   */
  async verifyCredentials(username: string, password: string): Promise<UserRecord | null> {
    const user = await this.users.getByUsername(username);
    const hash = user?.hashedPassword || (await this.getDummyHash());
    const ok = await bcrypt.compare(bcryptInput(password), hash);
    return ok && user ? user : null;
  }

  async toView(user: UserRecord): Promise<UserPublicDto> {
    return {
      user_id: user.userId,
      username: user.username,
      email: user.email,
      is_active: user.isActive,
      created_at: user.createdAt,
      permissions: [...user.permissions],
      owned_topics: await this.topics.listOwned(user.userId),
    };
  }

  private async announceChange(userId: string): Promise<void> {
    // Locally at once (the bus may echo our own event only later), then on every instance.
    this.forget(userId);
    await this.bus.publishControl({ kind: 'user-changed', userId });
  }

  private hash(password: string): Promise<string> {
    return bcrypt.hash(bcryptInput(password), this.config.auth.bcryptCost);
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= this.hash(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }

  private async ensureBootstrapAdmin(): Promise<void> {
    const { bootstrapAdminUsername: username, bootstrapAdminEmail: email } = this.config.auth;
    if (!username) return;
    let password = this.config.auth.bootstrapAdminPassword;
    const existing = await this.users.getByUsername(username);
    if (!password) {
      if (existing) return; // keep the password generated by an earlier start (shared storage)
      password = randomBytes(12).toString('base64url');
      this.generatedAdminPassword = password;
    }
    if (!existing) {
      await this.create({
        username,
        password,
        email: email || null,
        permissions: ['admin', 'read', 'write'],
      }).then(
        () => this.logger.log(`Bootstrap admin '${username}' created`),
        (error: unknown) => {
          // Another instance created it at the same moment, with its own generated password.
          if (!(error instanceof BadRequestError)) throw error;
          this.generatedAdminPassword = null;
        },
      );
      return;
    }
    if (!(await bcrypt.compare(bcryptInput(password), existing.hashedPassword))) {
      await this.users.update(existing.userId, { hashedPassword: await this.hash(password) });
      this.logger.log(`Bootstrap admin '${username}' password rotated from configuration`);
    }
  }
}
