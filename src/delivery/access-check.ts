import { Injectable } from '@nestjs/common';
import { AuthUser, hasPermission } from '../auth/auth-user';
import {
  DomainError,
  ForbiddenError,
  PermissionRequiredError,
  TopicNotFoundError,
  UnauthenticatedError,
} from '../common/errors';
import { TopicAccess } from '../topics/topic-access';
import { UsersService } from '../users/users.service';

/** Access re-checks for live consumers, always against fresh storage (never a cache). */
@Injectable()
export class AccessCheck {
  constructor(
    private readonly users: UsersService,
    private readonly access: TopicAccess,
  ) {}

  /** The user as stored now; throws when the user may no longer consume at all. */
  async refreshUser(user: AuthUser): Promise<AuthUser> {
    const record = await this.users.findById(user.userId);
    if (!record) throw new UnauthenticatedError('User not found', 'USER_NOT_FOUND');
    if (!record.isActive) throw new ForbiddenError('User is inactive', 'USER_INACTIVE');
    const fresh: AuthUser = { ...user, username: record.username, permissions: record.permissions };
    if (!hasPermission(fresh, 'read')) throw new PermissionRequiredError('read');
    return fresh;
  }

  /** False when the topic is missing or not readable; storage errors propagate. */
  async canRead(user: AuthUser, topic: string): Promise<boolean> {
    try {
      await this.access.requireRead(user, topic);
      return true;
    } catch (error) {
      if (error instanceof TopicNotFoundError) return false;
      throw error;
    }
  }
}

export function asDomainError(error: unknown): DomainError | null {
  return error instanceof DomainError ? error : null;
}
