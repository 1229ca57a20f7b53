import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuthUser } from '../auth/auth-user';
import { BadRequestError, NotFoundError } from '../common/errors';
import { requireMessageId } from '../common/message-id';
import {
  MessageBus,
  MessageStore,
  StoredMessage,
  TopicPermission,
  TopicRecord,
  TopicStore,
} from '../storage/ports';
import { UsersService } from '../users/users.service';
import { TopicAccess } from './topic-access';

export const PAGE_DEFAULT_LIMIT = 10;
export const PAGE_MAX_LIMIT = 100;

/** `TopicPublic`; `allowed_user_ids` only for the owner and admins. */
export interface TopicView {
  topic_id: string;
  topic_name: string;
  owner_id: string;
  is_public: boolean;
  description: string | null;
  created_at: string;
  allowed_user_ids?: string[];
}

export interface TopicPermissionView {
  topic_name: string;
  user_id: string;
  username: string | null;
  permissions: TopicPermission[];
  granted_at: string;
}

export interface TopicStatsView {
  total_topics: number;
  public_topics: number;
  total_messages: number;
}

export interface MessagePageView {
  messages: Array<{
    message_id: string;
    topic: string;
    payload: Record<string, unknown>;
    timestamp: string;
    metadata: Record<string, string>;
  }>;
  total: number;
  limit: number;
  order: 'asc' | 'desc';
  cursor: string | null;
  next_cursor: string | null;
}

export interface NewTopic {
  name: string;
  description?: string | null;
  isPublic?: boolean | null;
}

export interface TopicChanges {
  description?: string | null;
  isPublic?: boolean | null;
}

export interface GrantRequest {
  userId?: string | null;
  username?: string | null;
  permissions?: TopicPermission[] | null;
}

export interface PageRequest {
  limit?: number;
  order?: string;
  cursor?: string;
}

const GRANT_ORDER: Record<TopicPermission, number> = { read: 0, write: 1 };

@Injectable()
export class TopicsService {
  constructor(
    private readonly topics: TopicStore,
    private readonly messages: MessageStore,
    private readonly bus: MessageBus,
    private readonly access: TopicAccess,
    private readonly users: UsersService,
  ) {}

  async create(user: AuthUser, input: NewTopic): Promise<TopicView> {
    const record: Omit<TopicRecord, 'grants'> = {
      topicId: randomUUID(),
      name: input.name,
      ownerId: user.userId,
      isPublic: input.isPublic ?? false,
      description: input.description || null,
      createdAt: new Date().toISOString(),
    };
    if (!(await this.topics.create(record))) {
      throw new BadRequestError(`Topic '${input.name}' already exists`, 'TOPIC_EXISTS');
    }
    return this.toView(user, { ...record, grants: [] });
  }

  /** Topics the caller owns, holds a grant on, or that are public; admins see all. */
  async list(user: AuthUser): Promise<TopicView[]> {
    const all = await this.topics.list();
    const visible = user.permissions.includes('admin')
      ? all
      : all.filter(
          (t) =>
            t.ownerId === user.userId ||
            t.isPublic ||
            t.grants.some((g) => g.userId === user.userId),
        );
    return visible
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => this.toView(user, t));
  }

  async get(user: AuthUser, name: string): Promise<TopicView> {
    return this.toView(user, await this.access.requireRead(user, name));
  }

  async update(user: AuthUser, name: string, changes: TopicChanges): Promise<TopicView> {
    const before = await this.access.requireManage(
      user,
      name,
      'Only the topic owner can update this topic',
    );
    const patch: { description?: string | null; isPublic?: boolean } = {};
    if (changes.description !== undefined && changes.description !== null) {
      patch.description = changes.description || null;
    }
    if (changes.isPublic !== undefined && changes.isPublic !== null) {
      patch.isPublic = changes.isPublic;
    }
    const updated = await this.topics.update(name, patch);
    if (!updated) throw new NotFoundError(`Topic '${name}' not found`, 'TOPIC_NOT_FOUND');
    if (before.isPublic !== updated.isPublic) await this.accessChanged(name);
    return this.toView(user, updated);
  }

  /** Removes the topic, its grants and its messages, and ends its live subscriptions. */
  async delete(user: AuthUser, name: string): Promise<void> {
    await this.access.requireManage(user, name, 'Only the topic owner can delete this topic');
    if (!(await this.topics.delete(name))) {
      throw new NotFoundError(`Topic '${name}' not found`, 'TOPIC_NOT_FOUND');
    }
    this.access.invalidate(name);
    await this.messages.deleteTopic(name);
    await this.bus.publishControl({ kind: 'topic-deleted', topic: name });
  }

  async grant(user: AuthUser, name: string, request: GrantRequest): Promise<TopicPermissionView> {
    const topic = await this.access.requireManage(
      user,
      name,
      'Only the topic owner can grant access',
    );
    if (!request.userId && !request.username) {
      throw new BadRequestError(
        'Either user_id or username must be provided',
        'GRANT_TARGET_REQUIRED',
      );
    }
    const target = request.userId
      ? await this.users.findById(request.userId)
      : await this.users.findByUsername(request.username as string);
    if (!target) throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    if (target.userId === topic.ownerId) {
      throw new BadRequestError('The topic owner already has full access', 'GRANT_EXISTS');
    }
    const requested: TopicPermission[] = request.permissions ?? ['read'];
    const permissions = [...new Set(requested)].sort((a, b) => GRANT_ORDER[a] - GRANT_ORDER[b]);
    const previous = topic.grants.find((g) => g.userId === target.userId);
    if (previous && samePermissions(previous.permissions, permissions)) {
      throw new BadRequestError('User already has access to this topic', 'GRANT_EXISTS');
    }
    const grant = { userId: target.userId, permissions, grantedAt: new Date().toISOString() };
    if (!(await this.topics.putGrant(name, grant))) {
      throw new NotFoundError(`Topic '${name}' not found`, 'TOPIC_NOT_FOUND');
    }
    await this.accessChanged(name);
    return {
      topic_name: name,
      user_id: target.userId,
      username: target.username,
      permissions,
      granted_at: grant.grantedAt,
    };
  }

  async listGrants(user: AuthUser, name: string): Promise<TopicPermissionView[]> {
    const topic = await this.access.requireManage(
      user,
      name,
      'Only the topic owner can list permissions',
    );
    return Promise.all(
      topic.grants.map(async (grant) => ({
        topic_name: name,
        user_id: grant.userId,
        username: (await this.users.findById(grant.userId))?.username ?? null,
        permissions: grant.permissions,
        granted_at: grant.grantedAt,
      })),
    );
  }

  /** Revokes at once, on every instance, live subscriptions included. */
  async revoke(user: AuthUser, name: string, userId: string): Promise<void> {
    await this.access.requireManage(user, name, 'Only the topic owner can revoke access');
    if (!(await this.topics.removeGrant(name, userId))) {
      throw new NotFoundError('User does not have access to this topic', 'GRANT_NOT_FOUND');
    }
    await this.accessChanged(name);
  }

  async stats(): Promise<TopicStatsView> {
    const [stats, all] = await Promise.all([this.topics.stats(), this.topics.list()]);
    const counts = await Promise.all(all.map((t) => this.messages.count(t.name)));
    return {
      total_topics: stats.totalTopics,
      public_topics: stats.publicTopics,
      total_messages: counts.reduce((sum, n) => sum + n, 0),
    };
  }

  /** Stored messages, newest first (`desc`, default) or oldest first, after an exclusive cursor. */
  async page(user: AuthUser, name: string, request: PageRequest): Promise<MessagePageView> {
    await this.access.requireRead(user, name);
    const order = request.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') {
      throw new BadRequestError("Order must be 'asc' or 'desc'", 'INVALID_ORDER');
    }
    const requested = request.limit ?? PAGE_DEFAULT_LIMIT;
    if (requested < 1) throw new BadRequestError('Limit must be at least 1', 'INVALID_LIMIT');
    const limit = Math.min(requested, PAGE_MAX_LIMIT);
    const cursor =
      request.cursor === undefined ? null : requireMessageId(request.cursor, ['query', 'cursor']);
    const stored =
      order === 'asc'
        ? await this.messages.readAfter(name, cursor, limit)
        : await this.messages.readBefore(name, cursor, limit);
    return {
      messages: stored.map(toPagedMessage),
      total: stored.length,
      limit,
      order,
      cursor: request.cursor ?? null,
      next_cursor: stored.length > 0 ? stored[stored.length - 1].id : null,
    };
  }

  private async accessChanged(name: string): Promise<void> {
    this.access.invalidate(name);
    await this.bus.publishControl({ kind: 'topic-access-changed', topic: name });
  }

  private toView(user: AuthUser, topic: TopicRecord): TopicView {
    const view: TopicView = {
      topic_id: topic.topicId,
      topic_name: topic.name,
      owner_id: topic.ownerId,
      is_public: topic.isPublic,
      description: topic.description,
      created_at: topic.createdAt,
    };
    if (TopicAccess.allows(user, topic, 'manage')) {
      view.allowed_user_ids = topic.grants.map((g) => g.userId);
    }
    return view;
  }
}

function samePermissions(a: TopicPermission[], b: TopicPermission[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

function toPagedMessage(message: StoredMessage): MessagePageView['messages'][number] {
  return {
    message_id: message.id,
    topic: message.topic,
    payload: message.payload,
    timestamp: message.timestamp,
    metadata: message.metadata ?? {},
  };
}
