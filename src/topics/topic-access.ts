import { Injectable } from '@nestjs/common';
import { setBounded } from '../common/bounded-map';
import { randomUUID } from 'node:crypto';
import { AccessDeniedError, TopicNotFoundError } from '../common/errors';
import { MessageBus, TopicRecord, TopicStore } from '../storage/ports';
import { AuthUser } from '../auth/auth-user';

export type TopicAction = 'read' | 'write' | 'manage';

/** How long a topic record read for publishing may be reused without asking storage again. */
const WRITE_CACHE_TTL_MS = 2_000;
const WRITE_CACHE_MAX = 10_000;

/**
 * The one access rule, for every transport (HTTP, WebSocket, long-poll):
 * read = owner, grantee with read, anyone if public, admin; write = owner, grantee with write,
 * admin; manage = owner, admin. A caller who may not read a topic cannot tell it exists.
 */
@Injectable()
export class TopicAccess {
  /**
   * Publishing checks the same few topics over and over; a short-lived copy saves a storage round
   * trip per publish. Every change of a topic's access publishes a control event that evicts the
   * entry on every instance (and `invalidate` evicts it locally before the change is answered).
   */
  private readonly writeCache = new Map<string, { topic: TopicRecord; expiresAt: number }>();

  constructor(
    private readonly topics: TopicStore,
    bus: MessageBus,
  ) {
    bus.onControl((event) => {
      if (event.kind === 'topic-deleted' || event.kind === 'topic-access-changed') {
        this.writeCache.delete(event.topic);
      }
    });
    bus.onResync(() => this.writeCache.clear());
  }

  static allows(user: AuthUser, topic: TopicRecord, action: TopicAction): boolean {
    if (topic.ownerId === user.userId || user.permissions.includes('admin')) return true;
    if (action === 'manage') return false;
    if (action === 'read' && topic.isPublic) return true;
    for (const grant of topic.grants) {
      if (grant.userId === user.userId) return grant.permissions.includes(action);
    }
    return false;
  }

  /** The topic if the user may read it; otherwise 404 (missing and hidden look alike). */
  async requireRead(user: AuthUser, name: string): Promise<TopicRecord> {
    const topic = await this.topics.get(name);
    if (!topic || !TopicAccess.allows(user, topic, 'read')) throw new TopicNotFoundError(name);
    return topic;
  }

  /** The topic if the user may manage it; 404 when not readable, 403 when readable only. */
  async requireManage(
    user: AuthUser,
    name: string,
    deniedDetail = 'Only the topic owner or an admin may do this',
  ): Promise<TopicRecord> {
    const topic = await this.topics.get(name);
    if (!topic || !TopicAccess.allows(user, topic, 'read')) throw new TopicNotFoundError(name);
    if (!TopicAccess.allows(user, topic, 'manage')) throw new AccessDeniedError(deniedDetail);
    return topic;
  }

  /**
   * The topic if the user may publish to it, auto-creating a missing topic owned by the user;
   * 403 for someone else's topic (readable or not).
   */
  async requireWrite(user: AuthUser, name: string): Promise<TopicRecord> {
    // The cached copy is read synchronously: this runs on every publish.
    const topic =
      this.cachedForWrite(name) ??
      (await this.findForWrite(name)) ??
      (await this.autoCreate(user, name));
    if (!TopicAccess.allows(user, topic, 'write')) throw new AccessDeniedError();
    return topic;
  }

  /** The stored topic (possibly a copy up to a few seconds old, kept fresh by control events). */
  async findForWrite(name: string): Promise<TopicRecord | null> {
    const cached = this.cachedForWrite(name);
    if (cached) return cached;
    const topic = await this.topics.get(name);
    if (topic) this.remember(topic, Date.now());
    else this.writeCache.delete(name);
    return topic;
  }

  /** The cached copy of a topic, if fresh (no storage read). */
  private cachedForWrite(name: string): TopicRecord | undefined {
    const cached = this.writeCache.get(name);
    return cached && cached.expiresAt > Date.now() ? cached.topic : undefined;
  }

  /** Creates a missing topic owned by `user` (or returns the winner of a creation race). */
  async autoCreate(user: AuthUser, name: string): Promise<TopicRecord> {
    const record: Omit<TopicRecord, 'grants'> = {
      topicId: randomUUID(),
      name,
      ownerId: user.userId,
      isPublic: false,
      description: `Auto-created topic by ${user.username}`,
      createdAt: new Date().toISOString(),
    };
    if (await this.topics.create(record)) {
      const topic = { ...record, grants: [] };
      this.remember(topic, Date.now());
      return topic;
    }
    const winner = await this.topics.get(name);
    if (!winner) throw new AccessDeniedError(); // created and deleted meanwhile
    return winner;
  }

  /** Forgets a cached copy on this instance (callers also publish a control event for the others). */
  invalidate(name: string): void {
    this.writeCache.delete(name);
  }

  private remember(topic: TopicRecord, now: number): void {
    setBounded(
      this.writeCache,
      topic.name,
      { topic, expiresAt: now + WRITE_CACHE_TTL_MS },
      WRITE_CACHE_MAX,
    );
  }
}
