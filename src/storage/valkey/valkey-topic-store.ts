import {
  TopicGrant,
  TopicPatch,
  TopicPermission,
  TopicRecord,
  TopicStats,
  TopicStore,
} from '../ports';
import { flag, HashFields, hashToPairs, isFlagSet, nullFields, pairsToHash } from './hash-record';
import { IndexHash } from './index-hash';
import { LuaScript } from './lua-script';
import { ValkeyContext } from './valkey-context';
import { storageCall } from './valkey-errors';

/** KEYS: meta, grants. Grants left behind by an interrupted delete must not leak into a new topic. */
const CREATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

const READ = new LuaScript(`
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
`);

/** ARGV: fields to remove (space-separated), then field/value pairs to set. */
const UPDATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
for field in string.gmatch(ARGV[1], '%S+') do redis.call('HDEL', KEYS[1], field) end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
`);

/** Returns the deleted topic's id, so that the index entry is removed only if it is still this one. */
const DELETE = new LuaScript(`
local id = redis.call('HGET', KEYS[1], 'topic_id')
if not id then return false end
redis.call('DEL', KEYS[1], KEYS[2])
return id
`);

const PUT_GRANT = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`);

interface StoredGrant {
  permissions: TopicPermission[];
  grantedAt: string;
}

function metaHash(topic: Omit<TopicRecord, 'grants'>): Record<string, string | null> {
  return {
    topic_id: topic.topicId,
    name: topic.name,
    owner_id: topic.ownerId,
    is_public: flag(topic.isPublic),
    description: topic.description,
    created_at: topic.createdAt,
  };
}

function patchHash(patch: TopicPatch): Record<string, string | null> {
  const hash: Record<string, string | null> = {};
  if (patch.description !== undefined) hash.description = patch.description;
  if (patch.isPublic !== undefined) hash.is_public = flag(patch.isPublic);
  return hash;
}

function fromHashes(meta: HashFields, grants: HashFields | null): TopicRecord {
  return {
    topicId: meta.topic_id,
    name: meta.name,
    ownerId: meta.owner_id,
    isPublic: isFlagSet(meta.is_public),
    description: meta.description ?? null,
    createdAt: meta.created_at,
    grants: Object.entries(grants ?? {}).map(([userId, json]) => ({
      userId,
      ...(JSON.parse(json) as StoredGrant),
    })),
  };
}

/** `[meta pairs, grants pairs]` as READ and UPDATE return them. */
function decodeRead(reply: unknown): TopicRecord | null {
  if (!Array.isArray(reply)) return null;
  const meta = pairsToHash(reply[0]);
  return meta ? fromHashes(meta, pairsToHash(reply[1])) : null;
}

/** Topics: meta and grants hashes under the topic's hash tag, plus a global index name → id. */
export class ValkeyTopicStore extends TopicStore {
  private readonly index: IndexHash;

  constructor(private readonly ctx: ValkeyContext) {
    super();
    this.index = new IndexHash(ctx.client, ctx.keys.topicIndex());
  }

  async create(topic: Omit<TopicRecord, 'grants'>): Promise<boolean> {
    return storageCall(async () => {
      const created = await CREATE.run(
        this.ctx.client,
        this.topicKeys(topic.name),
        hashToPairs(metaHash(topic)),
      );
      if (created !== 1) return false;
      await this.index.add(topic.name, topic.topicId);
      return true;
    });
  }

  async get(name: string): Promise<TopicRecord | null> {
    return storageCall(() => this.read(name));
  }

  async update(name: string, patch: TopicPatch): Promise<TopicRecord | null> {
    const changes = patchHash(patch);
    return storageCall(async () =>
      decodeRead(
        await UPDATE.run(this.ctx.client, this.topicKeys(name), [
          nullFields(changes).join(' '),
          ...hashToPairs(changes),
        ]),
      ),
    );
  }

  async delete(name: string): Promise<boolean> {
    return storageCall(async () => {
      const topicId = await DELETE.run(this.ctx.client, this.topicKeys(name), []);
      if (typeof topicId !== 'string') return false;
      await this.index.removeIf(name, topicId);
      return true;
    });
  }

  async list(): Promise<TopicRecord[]> {
    return storageCall(async () => {
      const entries = Object.entries(await this.index.all());
      const topics = await Promise.all(entries.map(([name]) => this.read(name)));
      const live: TopicRecord[] = [];
      entries.forEach(([name, topicId], i) => {
        const topic = topics[i];
        if (topic?.topicId === topicId) live.push(topic);
        else if (topic === null) void this.index.removeIf(name, topicId).catch(() => undefined);
      });
      return live.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async listOwned(ownerId: string): Promise<string[]> {
    const topics = await this.list();
    return topics.filter((topic) => topic.ownerId === ownerId).map((topic) => topic.name);
  }

  async putGrant(name: string, grant: TopicGrant): Promise<boolean> {
    const stored: StoredGrant = { permissions: grant.permissions, grantedAt: grant.grantedAt };
    return storageCall(
      async () =>
        (await PUT_GRANT.run(this.ctx.client, this.topicKeys(name), [
          grant.userId,
          JSON.stringify(stored),
        ])) === 1,
    );
  }

  async removeGrant(name: string, userId: string): Promise<boolean> {
    return storageCall(
      async () => (await this.ctx.client.hdel(this.ctx.keys.topicGrants(name), userId)) === 1,
    );
  }

  async stats(): Promise<TopicStats> {
    const topics = await this.list();
    return {
      totalTopics: topics.length,
      publicTopics: topics.filter((topic) => topic.isPublic).length,
    };
  }

  private async read(name: string): Promise<TopicRecord | null> {
    return decodeRead(await READ.run(this.ctx.client, this.topicKeys(name), []));
  }

  private topicKeys(name: string): string[] {
    return [this.ctx.keys.topicMeta(name), this.ctx.keys.topicGrants(name)];
  }
}
