import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AccessDeniedError, TopicNotFoundError } from '../common/errors';
import { TopicRecord, TopicStore } from '../storage/ports';
import { AuthUser } from '../auth/auth-user';

export type TopicAction = 'read' | 'write' | 'manage';

/**
 * The one access rule, for every transport (HTTP, WebSocket, long-poll):
 * read = owner, grantee with read, anyone if public, admin; write = owner, grantee with write,
 * admin; manage = owner, admin. A caller who may not read a topic cannot tell it exists.
 */
@Injectable()
export class TopicAccess {
  constructor(private readonly topics: TopicStore) {}

  static allows(user: AuthUser, topic: TopicRecord, action: TopicAction): boolean {
    if (user.permissions.includes('admin') || topic.ownerId === user.userId) return true;
    if (action === 'manage') return false;
    if (action === 'read' && topic.isPublic) return true;
    const grant = topic.grants.find((g) => g.userId === user.userId);
    return grant !== undefined && grant.permissions.includes(action);
  }

  /** The topic if the user may read it; otherwise 404 (missing and hidden look alike). */
  async requireRead(user: AuthUser, name: string): Promise<TopicRecord> {
    const topic = await this.topics.get(name);
    if (!topic || !TopicAccess.allows(user, topic, 'read')) throw new TopicNotFoundError(name);
    return topic;
  }

  /** The topic if the user may manage it; 404 when not readable, 403 when readable only. */
  async requireManage(user: AuthUser, name: string): Promise<TopicRecord> {
    const topic = await this.requireRead(user, name);
    if (!TopicAccess.allows(user, topic, 'manage')) {
      throw new AccessDeniedError('Only the topic owner or an admin may do this');
    }
    return topic;
  }

  /**
   * The topic if the user may publish to it, auto-creating a missing topic owned by the user;
   * 403 for someone else's topic (readable or not).
   */
  async requireWrite(user: AuthUser, name: string): Promise<TopicRecord> {
    let topic = await this.topics.get(name);
    if (!topic) {
      const record: Omit<TopicRecord, 'grants'> = {
        topicId: randomUUID(),
        name,
        ownerId: user.userId,
        isPublic: false,
        description: `Auto-created topic by ${user.username}`,
        createdAt: new Date().toISOString(),
      };
      if (await this.topics.create(record)) return { ...record, grants: [] };
      topic = await this.topics.get(name); // lost a creation race
      if (!topic) throw new AccessDeniedError();
    }
    if (!TopicAccess.allows(user, topic, 'write')) throw new AccessDeniedError();
    return topic;
  }
}
