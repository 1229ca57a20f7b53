import { randomUUID } from 'node:crypto';
import { compareMessageIds, messageIdTime } from '../../src/common/message-id';
import {
  ControlEvent,
  NewMessage,
  RefreshTokenRecord,
  StoredMessage,
  UserRecord,
} from '../../src/storage/ports';
import { eventually, sleep, StorageInstance, unique } from './storage-instance';

/** How the contract reaches one storage backend. */
export interface ContractBackend {
  /**
   * Opens a relay instance. Instances opened with the same `scope` share data; `overrides` are
   * settings by path (`storage.max_messages_per_topic`).
   */
  open(scope: string, overrides?: Record<string, unknown>): Promise<StorageInstance>;
  /** A second relay instance on the same data (memory: the same process, so the same instance). */
  openPeer(scope: string, of: StorageInstance): Promise<StorageInstance>;
}

const msg = (topic: string, n: number, extra: Partial<NewMessage> = {}): NewMessage => ({
  topic,
  payload: { n },
  metadata: {},
  ...extra,
});

const ids = (messages: StoredMessage[]): string[] => messages.map((m) => m.id);

function user(username: string, userId = randomUUID()): UserRecord {
  return {
    userId,
    username,
    email: `${username}@example.com`,
    hashedPassword: '$2b$04$hash',
    isActive: true,
    createdAt: new Date().toISOString(),
    permissions: ['read', 'write'],
  };
}

function refreshToken(userId: string, jti = randomUUID()): RefreshTokenRecord {
  return {
    jti,
    userId,
    secretHash: 'ab'.repeat(32),
    parentJti: null,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    lastUsedAt: null,
    revoked: false,
    revokedReason: null,
    clientHint: 'jest',
  };
}

/** The semantics every storage driver must show; see the port doc comments. */
export function describeStorageContract(name: string, backend: ContractBackend): void {
  describe(`storage contract: ${name}`, () => {
    const scope = unique('contract');
    let sut: StorageInstance;
    let peer: StorageInstance;

    beforeAll(async () => {
      sut = await backend.open(scope);
      peer = await backend.openPeer(scope, sut);
    });

    afterAll(async () => {
      if (peer !== sut) await peer?.close();
      await sut?.close();
    });

    /** Opens an instance with its own settings and data, closed after `body`. */
    async function withInstance(
      overrides: Record<string, unknown>,
      body: (instance: StorageInstance) => Promise<void>,
    ): Promise<void> {
      const instance = await backend.open(unique('scoped'), overrides);
      try {
        await body(instance);
      } finally {
        await instance.close();
      }
    }

    describe('messages', () => {
      it('assigns strictly increasing <ms>-<seq> ids and returns what was stored', async () => {
        const topic = unique('order');
        const appended: StoredMessage[] = [];
        for (let n = 0; n < 20; n++) {
          appended.push(
            await sut.messages.append(msg(topic, n, { metadata: n === 0 ? { k: 'v' } : {} })),
          );
        }
        for (let i = 1; i < appended.length; i++) {
          expect(compareMessageIds(appended[i - 1].id, appended[i].id)).toBeLessThan(0);
        }
        const read = await sut.messages.readAfter(topic, null, 100);
        expect(read).toEqual(appended);
        expect(read[0]).toEqual({
          id: expect.stringMatching(/^\d+-\d+$/),
          topic,
          payload: { n: 0 },
          metadata: { k: 'v' },
          timestamp: new Date(messageIdTime(read[0].id)).toISOString(),
          expiresAt: null,
        });
        expect(read[1].metadata).toEqual({});
        expect(read[0].timestamp).toMatch(/Z$/);
      });

      it('treats bounds as exclusive in both directions', async () => {
        const topic = unique('bounds');
        const all = ids(
          (await sut.messages.appendMany(
            [0, 1, 2, 3, 4].map((n) => msg(topic, n)),
          )) as StoredMessage[],
        );
        expect(ids(await sut.messages.readAfter(topic, all[1], 10))).toEqual(all.slice(2));
        expect(ids(await sut.messages.readBefore(topic, all[3], 10))).toEqual([
          all[2],
          all[1],
          all[0],
        ]);
        expect(await sut.messages.readAfter(topic, all[4], 10)).toEqual([]);
        expect(await sut.messages.readBefore(topic, all[0], 10)).toEqual([]);
        expect(ids(await sut.messages.readBefore(topic, null, 2))).toEqual([all[4], all[3]]);
        expect(
          await sut.messages.readAfter(topic, '18446744073709551615-18446744073709551615', 10),
        ).toEqual([]);
        expect(await sut.messages.readBefore(topic, '0-0', 10)).toEqual([]);
        // An id that was never assigned still bounds the range.
        const [ms] = all[2].split('-');
        const between = `${ms}-18446744073709551615`;
        expect(ids(await sut.messages.readAfter(topic, between, 10))).toEqual(
          all.filter((id) => compareMessageIds(id, between) > 0),
        );
      });

      it('pages forwards and backwards without gaps or repeats', async () => {
        const topic = unique('paging');
        const all = ids(
          (await sut.messages.appendMany(
            Array.from({ length: 25 }, (_, n) => msg(topic, n)),
          )) as StoredMessage[],
        );
        const forward: string[] = [];
        let cursor: string | null = null;
        for (;;) {
          const page = await sut.messages.readAfter(topic, cursor, 10);
          if (page.length === 0) break;
          forward.push(...ids(page));
          cursor = page[page.length - 1].id;
        }
        expect(forward).toEqual(all);
        const backward: string[] = [];
        cursor = null;
        for (;;) {
          const page = await sut.messages.readBefore(topic, cursor, 10);
          if (page.length === 0) break;
          backward.push(...ids(page));
          cursor = page[page.length - 1].id;
        }
        expect(backward).toEqual([...all].reverse());
      });

      it('never returns a message past its ttl, and reads on past expired ones', async () => {
        const topic = unique('ttl');
        const expiring = await sut.messages.appendMany(
          [1, 2, 3].map((n) => msg(topic, n, { ttl: 1 })),
        );
        const kept = await sut.messages.appendMany([4, 5].map((n) => msg(topic, n)));
        const first = expiring[0] as StoredMessage;
        expect(first.expiresAt).toBe(messageIdTime(first.id) + 1000);
        expect(await sut.messages.readAfter(topic, null, 10)).toHaveLength(5);
        await sleep(1100);
        expect(ids(await sut.messages.readAfter(topic, null, 2))).toEqual(
          ids(kept as StoredMessage[]),
        );
        expect(ids(await sut.messages.readBefore(topic, null, 10))).toEqual(
          ids(kept as StoredMessage[]).reverse(),
        );
      });

      it('keeps about max_messages_per_topic messages', async () => {
        await withInstance({ 'storage.max_messages_per_topic': 10 }, async (instance) => {
          const topic = unique('count');
          const all = (await instance.messages.appendMany(
            Array.from({ length: 300 }, (_, n) => msg(topic, n)),
          )) as StoredMessage[];
          const count = await instance.messages.count(topic);
          // Approximate trimming drops whole stream nodes (100 entries by default).
          expect(count).toBeGreaterThanOrEqual(10);
          expect(count).toBeLessThanOrEqual(110);
          expect(ids(await instance.messages.readBefore(topic, null, 10))).toEqual(
            ids(all.slice(-10)).reverse(),
          );
        });
      });

      it('drops messages older than persistent_tier_retention', async () => {
        await withInstance({ 'storage.persistent_tier_retention': '0.5s' }, async (instance) => {
          const topic = unique('age');
          await instance.messages.appendMany([1, 2, 3].map((n) => msg(topic, n)));
          await sleep(600);
          const fresh = await instance.messages.append(msg(topic, 4));
          expect(ids(await instance.messages.readAfter(topic, null, 10))).toEqual([fresh.id]);
          expect(ids(await instance.messages.readBefore(topic, null, 10))).toEqual([fresh.id]);
        });
      });

      it('reports the last id and the count', async () => {
        const topic = unique('last');
        expect(await sut.messages.lastId(topic)).toBeNull();
        expect(await sut.messages.count(topic)).toBe(0);
        await sut.messages.append(msg(topic, 1));
        const last = await sut.messages.append(msg(topic, 2, { ttl: 1 }));
        expect(await sut.messages.lastId(topic)).toBe(last.id);
        expect(await sut.messages.count(topic)).toBe(2);
      });

      it('keeps topics apart and deletes one topic only', async () => {
        const a = unique('iso-a');
        const b = unique('iso-b');
        const results = (await sut.messages.appendMany([
          msg(a, 1),
          msg(b, 1),
          msg(a, 2),
          msg(b, 2),
        ])) as StoredMessage[];
        expect(results.map((m) => m.topic)).toEqual([a, b, a, b]);
        expect((await sut.messages.readAfter(a, null, 10)).map((m) => m.payload)).toEqual([
          { n: 1 },
          { n: 2 },
        ]);
        await sut.messages.deleteTopic(a);
        expect(await sut.messages.readAfter(a, null, 10)).toEqual([]);
        expect(await sut.messages.count(a)).toBe(0);
        expect(await sut.messages.lastId(a)).toBeNull();
        expect(await sut.messages.readAfter(b, null, 10)).toHaveLength(2);
      });
    });

    describe('idempotency markers', () => {
      it('finds the id of a message appended with a marker, in that topic only', async () => {
        const topic = unique('marker');
        const other = unique('marker-other');
        const marker = `${unique('user')}:key-1`;
        expect(await sut.messages.findMarker(topic, marker)).toBeNull();
        const stored = await sut.messages.append(msg(topic, 1, { idempotencyMarker: marker }));
        expect(stored).toEqual({
          id: expect.stringMatching(/^\d+-\d+$/),
          topic,
          payload: { n: 1 },
          metadata: {},
          timestamp: new Date(messageIdTime(stored.id)).toISOString(),
          expiresAt: null,
        });
        expect(await sut.messages.findMarker(topic, marker)).toBe(stored.id);
        expect(await peer.messages.findMarker(topic, marker)).toBe(stored.id);
        expect(await sut.messages.findMarker(topic, `${marker}x`)).toBeNull();
        expect(await sut.messages.findMarker(other, marker)).toBeNull();
        // The marker is internal: it is not part of what is read back.
        expect(await sut.messages.readAfter(topic, null, 10)).toEqual([stored]);
      });

      it('stores a message once per marker and answers a repeat with the first id', async () => {
        const topic = unique('marker-repeat');
        const marker = `${unique('user')}:key`;
        const received: StoredMessage[] = [];
        const handler = (m: StoredMessage): void => void received.push(m);
        await peer.bus.subscribe(topic, handler);
        try {
          const first = await sut.messages.append(msg(topic, 1, { idempotencyMarker: marker }));
          const again = await peer.messages.append(msg(topic, 1, { idempotencyMarker: marker }));
          expect(again.id).toBe(first.id);
          expect(again.timestamp).toBe(first.timestamp);
          const [bulkAgain, fresh] = (await sut.messages.appendMany([
            msg(topic, 1, { idempotencyMarker: marker }),
            msg(topic, 2, { idempotencyMarker: `${marker}#1` }),
          ])) as StoredMessage[];
          expect(bulkAgain.id).toBe(first.id);
          expect(compareMessageIds(fresh.id, first.id)).toBeGreaterThan(0);
          expect(ids(await sut.messages.readAfter(topic, null, 10))).toEqual([first.id, fresh.id]);
          await eventually(() => received.length >= 2);
          await sleep(50);
          expect(ids(received)).toEqual([first.id, fresh.id]);
        } finally {
          await peer.bus.unsubscribe(topic, handler);
        }
      });

      it('records one marker per message of a bulk append, over several topics', async () => {
        const a = unique('marker-bulk-a');
        const b = unique('marker-bulk-b');
        const key = `${unique('user')}:bulk`;
        const stored = (await sut.messages.appendMany([
          msg(a, 0, { idempotencyMarker: `${key}#0` }),
          msg(b, 1, { idempotencyMarker: `${key}#1` }),
          msg(a, 2),
          msg(a, 3, { idempotencyMarker: `${key}#3` }),
        ])) as StoredMessage[];
        expect(await sut.messages.findMarker(a, `${key}#0`)).toBe(stored[0].id);
        expect(await sut.messages.findMarker(b, `${key}#1`)).toBe(stored[1].id);
        expect(await sut.messages.findMarker(a, `${key}#1`)).toBeNull();
        expect(await sut.messages.findMarker(a, `${key}#2`)).toBeNull();
        expect(await sut.messages.findMarker(a, `${key}#3`)).toBe(stored[3].id);
        expect(ids(await sut.messages.readAfter(a, null, 10))).toEqual([
          stored[0].id,
          stored[2].id,
          stored[3].id,
        ]);
      });

      it('keeps markers through the window (expiry after the lease: driver tests)', async () => {
        await withInstance({ 'storage.idempotency_window': '0.5s' }, async (instance) => {
          const topic = unique('marker-window');
          const first = await instance.messages.append(msg(topic, 1, { idempotencyMarker: 'u:k' }));
          await sleep(700);
          expect(await instance.messages.findMarker(topic, 'u:k')).toBe(first.id);
          const again = await instance.messages.append(msg(topic, 1, { idempotencyMarker: 'u:k' }));
          expect(again.id).toBe(first.id);
          expect(await instance.messages.count(topic)).toBe(1);
        });
      });

      it('ignores markers when idempotency is off (window 0)', async () => {
        await withInstance({ 'storage.idempotency_window': 0 }, async (instance) => {
          const topic = unique('marker-off');
          await instance.messages.append(msg(topic, 1, { idempotencyMarker: 'u:k' }));
          await instance.messages.append(msg(topic, 1, { idempotencyMarker: 'u:k' }));
          expect(await instance.messages.count(topic)).toBe(2);
          expect(await instance.messages.findMarker(topic, 'u:k')).toBeNull();
        });
      });

      it('removes the markers with the topic', async () => {
        const topic = unique('marker-delete');
        const kept = unique('marker-kept');
        await sut.messages.appendMany([
          msg(topic, 1, { idempotencyMarker: 'u:k#0' }),
          msg(topic, 2, { idempotencyMarker: 'u:k#1' }),
          msg(kept, 3, { idempotencyMarker: 'u:k#2' }),
        ]);
        await sut.messages.deleteTopic(topic);
        expect(await sut.messages.findMarker(topic, 'u:k#0')).toBeNull();
        expect(await sut.messages.findMarker(topic, 'u:k#1')).toBeNull();
        expect(await sut.messages.findMarker(kept, 'u:k#2')).not.toBeNull();
        const again = await sut.messages.append(msg(topic, 1, { idempotencyMarker: 'u:k#0' }));
        expect(ids(await sut.messages.readAfter(topic, null, 10))).toEqual([again.id]);
      });
    });

    describe('key-value', () => {
      it('sets if absent, expires, and deletes', async () => {
        const key = unique('kv');
        expect(await sut.kv.setIfAbsent(key, 'a', 0.3)).toBe(true);
        expect(await sut.kv.setIfAbsent(key, 'b', 0.3)).toBe(false);
        expect(await sut.kv.get(key)).toBe('a');
        await sleep(400);
        expect(await sut.kv.get(key)).toBeNull();
        expect(await sut.kv.setIfAbsent(key, 'c', 0)).toBe(true);
        await sut.kv.set(key, 'd', 0);
        expect(await sut.kv.get(key)).toBe('d');
        await sut.kv.delete(key);
        expect(await sut.kv.get(key)).toBeNull();
      });

      it('counts within a window that starts at the first increment', async () => {
        const key = unique('counter');
        const first = await sut.kv.increment(key, 0.3);
        expect(first.count).toBe(1);
        expect(first.ttlMs).toBeGreaterThan(0);
        expect(first.ttlMs).toBeLessThanOrEqual(300);
        const second = await sut.kv.increment(key, 0.3);
        expect(second.count).toBe(2);
        expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs);
        await sleep(400);
        expect((await sut.kv.increment(key, 0.3)).count).toBe(1);
      });
    });

    describe('users', () => {
      it('creates, finds, updates, lists and deletes', async () => {
        const record = user(unique('alice'));
        expect(await sut.users.create(record)).toBe(true);
        expect(await sut.users.getById(record.userId)).toEqual(record);
        expect(await sut.users.getByUsername(record.username)).toEqual(record);
        const updated = await sut.users.update(record.userId, {
          email: null,
          isActive: false,
          permissions: ['read'],
        });
        expect(updated).toEqual({ ...record, email: null, isActive: false, permissions: ['read'] });
        expect(await sut.users.getById(record.userId)).toEqual(updated);
        expect((await sut.users.list()).map((u) => u.userId)).toContain(record.userId);
        expect(await sut.users.delete(record.userId)).toBe(true);
        expect(await sut.users.delete(record.userId)).toBe(false);
        expect(await sut.users.getById(record.userId)).toBeNull();
        expect(await sut.users.getByUsername(record.username)).toBeNull();
        expect(await sut.users.update(record.userId, { isActive: true })).toBeNull();
        expect((await sut.users.list()).map((u) => u.userId)).not.toContain(record.userId);
      });

      it('lets exactly one of 20 concurrent creates claim a username', async () => {
        const username = unique('race');
        const candidates = Array.from({ length: 20 }, () => user(username));
        const results = await Promise.all(candidates.map((c) => sut.users.create(c)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = candidates[results.indexOf(true)];
        expect((await sut.users.getByUsername(username))?.userId).toBe(winner.userId);
        for (const loser of candidates.filter((c) => c !== winner)) {
          expect(await sut.users.getById(loser.userId)).toBeNull();
        }
        expect((await sut.users.list()).filter((u) => u.username === username)).toHaveLength(1);
      });
    });

    describe('topics', () => {
      const topicRecord = (name: string, ownerId = 'owner-1') => ({
        topicId: randomUUID(),
        name,
        ownerId,
        isPublic: false,
        description: null,
        createdAt: new Date().toISOString(),
      });

      it('lets exactly one of 20 concurrent creates win', async () => {
        const name = unique('topic-race');
        const candidates = Array.from({ length: 20 }, () => topicRecord(name));
        const results = await Promise.all(candidates.map((c) => sut.topics.create(c)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = candidates[results.indexOf(true)];
        expect(await sut.topics.get(name)).toEqual({ ...winner, grants: [] });
      });

      it('updates, lists, counts and deletes with its grants', async () => {
        const owner = unique('owner');
        const name = unique('topic');
        const record = topicRecord(name, owner);
        const before = await sut.topics.stats();
        expect(await sut.topics.create(record)).toBe(true);
        expect(await sut.topics.update(name, { description: 'hello', isPublic: true })).toEqual({
          ...record,
          description: 'hello',
          isPublic: true,
          grants: [],
        });
        expect((await sut.topics.update(name, { description: null }))?.description).toBeNull();
        expect(await sut.topics.update(unique('missing'), { isPublic: true })).toBeNull();
        expect(await sut.topics.listOwned(owner)).toEqual([name]);
        expect((await sut.topics.list()).map((t) => t.name)).toContain(name);
        expect(await sut.topics.stats()).toEqual({
          totalTopics: before.totalTopics + 1,
          publicTopics: before.publicTopics + 1,
        });
        const grant = {
          userId: 'u-1',
          permissions: ['read' as const],
          grantedAt: new Date().toISOString(),
        };
        expect(await sut.topics.putGrant(name, grant)).toBe(true);
        expect(await sut.topics.delete(name)).toBe(true);
        expect(await sut.topics.delete(name)).toBe(false);
        expect(await sut.topics.get(name)).toBeNull();
        expect(await sut.topics.listOwned(owner)).toEqual([]);
        expect(await sut.topics.create(record)).toBe(true);
        expect((await sut.topics.get(name))?.grants).toEqual([]);
      });

      it('adds, replaces and removes grants', async () => {
        const name = unique('grants');
        await sut.topics.create(topicRecord(name));
        const at = new Date().toISOString();
        expect(
          await sut.topics.putGrant(name, { userId: 'u-1', permissions: ['read'], grantedAt: at }),
        ).toBe(true);
        expect(
          await sut.topics.putGrant(name, { userId: 'u-2', permissions: ['write'], grantedAt: at }),
        ).toBe(true);
        expect(
          await sut.topics.putGrant(name, {
            userId: 'u-1',
            permissions: ['read', 'write'],
            grantedAt: at,
          }),
        ).toBe(true);
        const grants = (await sut.topics.get(name))?.grants ?? [];
        expect(grants.sort((a, b) => a.userId.localeCompare(b.userId))).toEqual([
          { userId: 'u-1', permissions: ['read', 'write'], grantedAt: at },
          { userId: 'u-2', permissions: ['write'], grantedAt: at },
        ]);
        expect(await sut.topics.removeGrant(name, 'u-2')).toBe(true);
        expect(await sut.topics.removeGrant(name, 'u-2')).toBe(false);
        expect(
          await sut.topics.putGrant(unique('missing'), {
            userId: 'u-1',
            permissions: ['read'],
            grantedAt: at,
          }),
        ).toBe(false);
      });
    });

    describe('tokens', () => {
      it('stores refresh tokens and lets one of 20 concurrent rotations win', async () => {
        const userId = unique('user');
        const record = refreshToken(userId);
        await sut.tokens.saveRefresh(record);
        expect(await sut.tokens.getRefresh(record.jti)).toEqual(record);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => sut.tokens.revokeIfActive(record.jti, 'rotated')),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await sut.tokens.getRefresh(record.jti)).toMatchObject({
          revoked: true,
          revokedReason: 'rotated',
        });
        expect(await sut.tokens.revokeIfActive(unique('missing'), 'rotated')).toBe(false);
      });

      it('revokes, touches and lists per user', async () => {
        const userId = unique('user');
        const a = refreshToken(userId);
        const b = refreshToken(userId);
        await sut.tokens.saveRefresh(a);
        await sut.tokens.saveRefresh(b);
        await sut.tokens.saveRefresh(refreshToken(unique('other')));
        const usedAt = new Date().toISOString();
        await sut.tokens.touch(a.jti, usedAt);
        await sut.tokens.revoke(b.jti, 'logout');
        await sut.tokens.revoke(unique('missing'), 'logout');
        const listed = (await sut.tokens.listForUser(userId)).sort((x, y) =>
          x.jti === a.jti ? -1 : y.jti === a.jti ? 1 : 0,
        );
        expect(listed).toEqual([
          { ...a, lastUsedAt: usedAt },
          { ...b, revoked: true, revokedReason: 'logout' },
        ]);
      });

      it('deny-lists access tokens until their ttl passes', async () => {
        const jti = unique('jti');
        expect(await sut.tokens.isAccessTokenDenied(jti)).toBe(false);
        await sut.tokens.denyAccessToken(jti, 1);
        expect(await sut.tokens.isAccessTokenDenied(jti)).toBe(true);
        await sleep(1100);
        expect(await sut.tokens.isAccessTokenDenied(jti)).toBe(false);
      });
    });

    describe('bus', () => {
      it('delivers every message to another instance once, in order', async () => {
        const topic = unique('bus');
        const received: StoredMessage[] = [];
        const handler = (m: StoredMessage): void => void received.push(m);
        await peer.bus.subscribe(topic, handler);
        try {
          const sent: StoredMessage[] = [];
          for (let n = 0; n < 10; n++) sent.push(await sut.messages.append(msg(topic, n)));
          sent.push(
            ...((await sut.messages.appendMany(
              Array.from({ length: 40 }, (_, n) => msg(topic, 10 + n)),
            )) as StoredMessage[]),
          );
          await eventually(() => received.length >= sent.length);
          await sleep(50);
          expect(received).toEqual(sent);
        } finally {
          await peer.bus.unsubscribe(topic, handler);
        }
      });

      it('counts handlers per topic and stops delivering after the last unsubscribe', async () => {
        const topic = unique('refcount');
        const first: StoredMessage[] = [];
        const second: StoredMessage[] = [];
        const h1 = (m: StoredMessage): void => void first.push(m);
        const h2 = (m: StoredMessage): void => void second.push(m);
        await peer.bus.subscribe(topic, h1);
        await peer.bus.subscribe(topic, h2);
        await peer.bus.unsubscribe(topic, h1);
        const one = await sut.messages.append(msg(topic, 1));
        await eventually(() => second.length === 1);
        expect(first).toEqual([]);
        expect(second).toEqual([one]);
        await peer.bus.unsubscribe(topic, h2);
        await sut.messages.append(msg(topic, 2));
        await sleep(100);
        expect(second).toEqual([one]);
      });

      it('serves catch-up reads of a followed topic completely', async () => {
        const topic = unique('catchup');
        const received: StoredMessage[] = [];
        const handler = (m: StoredMessage): void => void received.push(m);
        const early = await sut.messages.append(msg(topic, 0));
        await peer.bus.subscribe(topic, handler);
        try {
          expect(ids(await peer.messages.readAfter(topic, null, 100))).toEqual([early.id]);
          const later = (await sut.messages.appendMany(
            [1, 2, 3].map((n) => msg(topic, n)),
          )) as StoredMessage[];
          await eventually(() => received.length === 3);
          expect(ids(await peer.messages.readAfter(topic, null, 100))).toEqual([
            early.id,
            ...ids(later),
          ]);
          expect(ids(await peer.messages.readAfter(topic, later[0].id, 100))).toEqual(
            ids(later.slice(1)),
          );
          expect(ids(await peer.messages.readAfter(topic, null, 2))).toEqual([
            early.id,
            later[0].id,
          ]);
          await sut.messages.deleteTopic(topic);
          await sleep(100);
          expect(await peer.messages.readAfter(topic, null, 100)).toEqual([]);
          const fresh = await sut.messages.append(msg(topic, 4));
          await eventually(() => received.length === 4);
          expect(ids(await peer.messages.readAfter(topic, null, 100))).toEqual([fresh.id]);
        } finally {
          await peer.bus.unsubscribe(topic, handler);
        }
      });

      it('broadcasts control events to every instance', async () => {
        const seen: ControlEvent[] = [];
        peer.bus.onControl((event) => seen.push(event));
        const event: ControlEvent = { kind: 'topic-deleted', topic: unique('ctl') };
        await sut.bus.publishControl(event);
        await eventually(() =>
          seen.some((e) => e.kind === 'topic-deleted' && e.topic === event.topic),
        );
      });
    });

    it('answers health pings', async () => {
      await expect(sut.health.ping()).resolves.toBeUndefined();
    });
  });
}
