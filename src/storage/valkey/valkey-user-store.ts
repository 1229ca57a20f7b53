import { Permission, UserPatch, UserRecord, UserStore } from '../ports';
import { flag, HashFields, hashToPairs, isFlagSet, nullFields, pairsToHash } from './hash-record';
import { IndexHash } from './index-hash';
import { LuaScript } from './lua-script';
import { ValkeyContext } from './valkey-context';
import { storageCall } from './valkey-errors';

/** The record lives under the username's hash tag, so claiming the name and writing it is one step. */
const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

/** ARGV: user id, fields to remove (space-separated), then field/value pairs to set. */
const UPDATE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return false end
for field in string.gmatch(ARGV[2], '%S+') do redis.call('HDEL', KEYS[1], field) end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
return redis.call('HGETALL', KEYS[1])
`);

const DELETE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'user_id') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`);

type UserHash = Record<string, string | null>;

function toHash(patch: Partial<UserRecord>): UserHash {
  const hash: UserHash = {};
  if (patch.userId !== undefined) hash.user_id = patch.userId;
  if (patch.username !== undefined) hash.username = patch.username;
  if (patch.email !== undefined) hash.email = patch.email;
  if (patch.hashedPassword !== undefined) hash.hashed_password = patch.hashedPassword;
  if (patch.isActive !== undefined) hash.is_active = flag(patch.isActive);
  if (patch.createdAt !== undefined) hash.created_at = patch.createdAt;
  if (patch.permissions !== undefined) hash.permissions = JSON.stringify(patch.permissions);
  return hash;
}

function fromHash(hash: HashFields): UserRecord {
  return {
    userId: hash.user_id,
    username: hash.username,
    email: hash.email ?? null,
    hashedPassword: hash.hashed_password,
    isActive: isFlagSet(hash.is_active),
    createdAt: hash.created_at,
    permissions: JSON.parse(hash.permissions) as Permission[],
  };
}

/** Users: one hash per user (`u:{<username>}`) and a global index userId → username. */
export class ValkeyUserStore extends UserStore {
  private readonly index: IndexHash;

  constructor(private readonly ctx: ValkeyContext) {
    super();
    this.index = new IndexHash(ctx.client, ctx.keys.userIndex());
  }

  async create(user: UserRecord): Promise<boolean> {
    return storageCall(async () => {
      await this.index.add(user.userId, user.username);
      const key = this.ctx.keys.user(user.username);
      const created = await CREATE.run(this.ctx.client, [key], hashToPairs(toHash(user)));
      if (created === 1) return true;
      await this.index.removeIf(user.userId, user.username);
      return false;
    });
  }

  async getById(userId: string): Promise<UserRecord | null> {
    return storageCall(async () => {
      const username = await this.index.get(userId);
      if (username === null) return null;
      const user = await this.readByName(username);
      return user?.userId === userId ? user : null;
    });
  }

  async getByUsername(username: string): Promise<UserRecord | null> {
    return storageCall(() => this.readByName(username));
  }

  async update(userId: string, patch: UserPatch): Promise<UserRecord | null> {
    return storageCall(async () => {
      const username = await this.index.get(userId);
      if (username === null) return null;
      const changes = toHash(patch);
      const result = await UPDATE.run(
        this.ctx.client,
        [this.ctx.keys.user(username)],
        [userId, nullFields(changes).join(' '), ...hashToPairs(changes)],
      );
      const hash = pairsToHash(result);
      return hash ? fromHash(hash) : null;
    });
  }

  async delete(userId: string): Promise<boolean> {
    return storageCall(async () => {
      const username = await this.index.get(userId);
      if (username === null) return false;
      const deleted = await DELETE.run(this.ctx.client, [this.ctx.keys.user(username)], [userId]);
      await this.index.removeIf(userId, username);
      return deleted === 1;
    });
  }

  async list(): Promise<UserRecord[]> {
    return storageCall(async () => {
      const entries = Object.entries(await this.index.all());
      const users = await Promise.all(entries.map(([, username]) => this.readByName(username)));
      return users.filter((user, i): user is UserRecord => user?.userId === entries[i][0]);
    });
  }

  private async readByName(username: string): Promise<UserRecord | null> {
    const hash = await this.ctx.client.hgetall(this.ctx.keys.user(username));
    return Object.keys(hash).length ? fromHash(hash) : null;
  }
}
