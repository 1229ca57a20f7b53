export type Permission = 'admin' | 'read' | 'write';
export const PERMISSIONS: readonly Permission[] = ['admin', 'read', 'write'];

export interface UserRecord {
  userId: string;
  username: string;
  email: string | null;
  hashedPassword: string;
  isActive: boolean;
  createdAt: string;
  permissions: Permission[];
}

export type UserPatch = Partial<
  Pick<UserRecord, 'email' | 'hashedPassword' | 'isActive' | 'permissions'>
>;

export abstract class UserStore {
  /** Creates the user; resolves false (and writes nothing) when the username is taken. Atomic. */
  abstract create(user: UserRecord): Promise<boolean>;
  abstract getById(userId: string): Promise<UserRecord | null>;
  abstract getByUsername(username: string): Promise<UserRecord | null>;
  /** Applies the present keys; null when the user does not exist. */
  abstract update(userId: string, patch: UserPatch): Promise<UserRecord | null>;
  abstract delete(userId: string): Promise<boolean>;
  abstract list(): Promise<UserRecord[]>;
}
