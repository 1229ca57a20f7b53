import { AuthUser } from '../../src/auth/auth-user';
import { TopicAccess } from '../../src/topics/topic-access';
import { adminToken, http } from '../support/http';
import {
  BACKENDS,
  bootApp,
  createTopic,
  grant,
  Harness,
  makeUser,
  publish,
  TestUser,
  unique,
} from './fixtures';

/**
 * CONTRACT.md's access table, row by row, for every kind of caller. Users hold the global
 * permissions noted in their names; grants are per topic.
 */
type Who =
  | 'owner'
  | 'admin'
  | 'readGrantee'
  | 'writeGrantee'
  | 'stranger'
  | 'grantedNoGlobal'
  | 'grantedWithoutWrite';

describe.each(BACKENDS)('topic access table (%s)', (backend) => {
  let h: Harness;
  const users = {} as Record<Who, TestUser & { permissions: Array<'read' | 'write' | 'admin'> }>;
  let priv: string;
  let pub: string;

  const topicOf = (visibility: 'private' | 'public'): string =>
    visibility === 'private' ? priv : pub;

  beforeAll(async () => {
    h = await bootApp(backend);
    const make = async (who: Who, permissions: Array<'read' | 'write'>): Promise<void> => {
      users[who] = { ...(await makeUser(h, permissions)), permissions };
    };
    await make('owner', ['read', 'write']);
    await make('readGrantee', ['read', 'write']);
    await make('writeGrantee', ['read', 'write']);
    await make('stranger', ['read', 'write']);
    await make('grantedNoGlobal', []);
    await make('grantedWithoutWrite', ['read']);
    const me = await http(h.baseUrl, 'GET', '/auth/me', { token: await adminToken(h.baseUrl) });
    users.admin = {
      userId: me.body.user_id,
      username: 'admin',
      token: await adminToken(h.baseUrl),
      permissions: ['admin', 'read', 'write'],
    };
    priv = await createTopic(h, users.owner, { topic_name: unique('priv') });
    pub = await createTopic(h, users.owner, { topic_name: unique('pub'), is_public: true });
    for (const topic of [priv, pub]) {
      await grant(h, users.owner, topic, users.readGrantee, ['read']);
      await grant(h, users.owner, topic, users.writeGrantee, ['write']);
      await grant(h, users.owner, topic, users.grantedNoGlobal, ['read', 'write']);
      await grant(h, users.owner, topic, users.grantedWithoutWrite, ['read', 'write']);
    }
    expect((await publish(h, users.owner, priv, { seed: true })).status).toBe(201);
    expect((await publish(h, users.owner, pub, { seed: true })).status).toBe(201);
  });
  afterAll(() => h?.close());

  describe('consume: owner, grantee with read, anyone if public, admin (the rule WS and poll use)', () => {
    // [who, private, public]; the transports add the global `read` check on top.
    const rows: Array<[Who, boolean, boolean]> = [
      ['owner', true, true],
      ['admin', true, true],
      ['readGrantee', true, true],
      ['writeGrantee', false, true],
      ['stranger', false, true],
      ['grantedNoGlobal', true, true],
    ];
    it.each(rows)('%s: private %s, public %s', async (who, onPrivate, onPublic) => {
      const sut = h.app.get(TopicAccess);
      const u = users[who];
      const caller: AuthUser = {
        userId: u.userId,
        username: u.username,
        permissions: u.permissions,
        jti: null,
        exp: 0,
      };
      for (const [topic, expected] of [
        [priv, onPrivate],
        [pub, onPublic],
      ] as const) {
        const outcome = await sut.requireRead(caller, topic).then(
          () => true,
          (error: { status?: number }) => {
            expect(error.status).toBe(404);
            return false;
          },
        );
        expect({ who, topic, outcome }).toEqual({ who, topic, outcome: expected });
      }
    });
  });

  describe('consume over long poll (global read needed)', () => {
    const rows: Array<[Who, 'private' | 'public', number]> = [
      ['owner', 'private', 200],
      ['admin', 'private', 200],
      ['readGrantee', 'private', 200],
      ['writeGrantee', 'private', 404],
      ['stranger', 'private', 404],
      ['writeGrantee', 'public', 200],
      ['stranger', 'public', 200],
      ['grantedNoGlobal', 'private', 403],
    ];
    it.each(rows)('%s on a %s topic ⇒ %i', async (who, visibility, status) => {
      const topic = topicOf(visibility);
      const res = await http(h.baseUrl, 'POST', '/messages/poll', {
        token: users[who].token,
        body: { topics: [topic], since: { [topic]: '0-0' }, timeout: 1 },
      });
      expect(res.status).toBe(status);
      if (status === 200) {
        expect(res.body.messages[0]).toMatchObject({ topic, payload: { seed: true } });
      }
      if (status === 404) expect(res.body.code).toBe('TOPIC_NOT_FOUND');
      if (status === 403) expect(res.body.detail).toBe("Permission 'read' required");
    });
  });

  describe('page stored messages: owner, grantee with read, anyone if public, admin; no global permission needed', () => {
    const rows: Array<[Who, 'private' | 'public', number]> = [
      ['owner', 'private', 200],
      ['admin', 'private', 200],
      ['readGrantee', 'private', 200],
      ['grantedNoGlobal', 'private', 200],
      ['writeGrantee', 'private', 404],
      ['stranger', 'private', 404],
      ['writeGrantee', 'public', 200],
      ['stranger', 'public', 200],
    ];
    it.each(rows)('%s on a %s topic ⇒ %i', async (who, visibility, status) => {
      const topic = topicOf(visibility);
      const res = await http(h.baseUrl, 'GET', `/api/v1/topics/${topic}/messages`, {
        token: users[who].token,
      });
      expect(res.status).toBe(status);
      if (status === 404) {
        expect(res.body).toEqual({ detail: `Topic '${topic}' not found`, code: 'TOPIC_NOT_FOUND' });
      } else {
        expect(res.body.messages).toEqual(expect.any(Array));
      }
    });

    it('a user without any global permission and without a grant gets 404 on a private topic', async () => {
      const nobody = await makeUser(h, []);
      const res = await http(h.baseUrl, 'GET', `/api/v1/topics/${priv}/messages`, {
        token: nobody.token,
      });
      expect(res.status).toBe(404);
      const open = await http(h.baseUrl, 'GET', `/api/v1/topics/${pub}/messages`, {
        token: nobody.token,
      });
      expect(open.status).toBe(200);
    });

    it('GET /topics/{name} follows the same rule (404 hides a private topic)', async () => {
      for (const [who, status] of [
        ['owner', 200],
        ['readGrantee', 200],
        ['stranger', 404],
        ['admin', 200],
      ] as const) {
        const res = await http(h.baseUrl, 'GET', `/api/v1/topics/${priv}`, {
          token: users[who].token,
        });
        expect({ who, status: res.status }).toEqual({ who, status });
      }
    });
  });

  describe('publish: owner, grantee with write, admin (global write needed)', () => {
    const rows: Array<[Who, 'private' | 'public', number, string | null]> = [
      ['owner', 'private', 201, null],
      ['admin', 'private', 201, null],
      ['writeGrantee', 'private', 201, null],
      ['writeGrantee', 'public', 201, null],
      ['readGrantee', 'private', 403, 'Access denied to topic'],
      ['stranger', 'private', 403, 'Access denied to topic'],
      ['stranger', 'public', 403, 'Access denied to topic'],
      ['grantedNoGlobal', 'private', 403, "Permission 'write' required"],
      ['grantedWithoutWrite', 'private', 403, "Permission 'write' required"],
    ];
    it.each(rows)('%s on a %s topic ⇒ %i', async (who, visibility, status, detail) => {
      const res = await publish(h, users[who], topicOf(visibility), { who });
      expect(res.status).toBe(status);
      if (detail) expect(res.body.detail).toBe(detail);
    });

    it('bulk to a topic the caller may not write ⇒ 403 for the whole request, nothing written', async () => {
      const mine = unique('mine');
      const before = await http(h.baseUrl, 'GET', `/api/v1/topics/${priv}/messages?limit=100`, {
        token: users.owner.token,
      });
      const res = await http(h.baseUrl, 'POST', '/api/v1/messages/bulk', {
        token: users.stranger.token,
        body: {
          messages: [
            { topic: mine, payload: { n: 1 } },
            { topic: priv, payload: { n: 2 } },
          ],
        },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('ACCESS_DENIED');
      const after = await http(h.baseUrl, 'GET', `/api/v1/topics/${priv}/messages?limit=100`, {
        token: users.owner.token,
      });
      expect(after.body.messages).toEqual(before.body.messages);
      const created = await http(h.baseUrl, 'GET', `/api/v1/topics/${mine}`, {
        token: users.stranger.token,
      });
      expect(created.status).toBe(404);
    });

    it('a missing topic is auto-created, owned by the publisher', async () => {
      const name = unique('auto');
      const res = await publish(h, users.stranger, name);
      expect(res.status).toBe(201);
      const topic = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}`, {
        token: users.stranger.token,
      });
      expect(topic.body).toMatchObject({ owner_id: users.stranger.userId, is_public: false });
      expect((await publish(h, users.owner, name)).status).toBe(403);
    });
  });

  describe('update, delete, manage grants: owner, admin', () => {
    const rows: Array<[Who, 'private' | 'public', number]> = [
      ['owner', 'private', 200],
      ['admin', 'private', 200],
      ['readGrantee', 'private', 403],
      ['stranger', 'public', 403],
      ['writeGrantee', 'private', 404],
      ['stranger', 'private', 404],
    ];

    it.each(rows)(
      '%s on a %s topic: update/list/grant/revoke/delete ⇒ %i',
      async (who, visibility, status) => {
        const topic = await createTopic(h, users.owner, { is_public: visibility === 'public' });
        await grant(h, users.owner, topic, users.readGrantee, ['read']);
        await grant(h, users.owner, topic, users.writeGrantee, ['write']);
        const token = users[who].token;
        const ok = (code: number): number => (status === 200 ? code : status);
        const calls: Array<[string, string, unknown, number]> = [
          ['PUT', `/api/v1/topics/${topic}`, { description: 'changed' }, ok(200)],
          ['GET', `/api/v1/topics/${topic}/permissions`, undefined, ok(200)],
          [
            'POST',
            `/api/v1/topics/${topic}/permissions`,
            { user_id: users.stranger.userId },
            ok(201),
          ],
          [
            'DELETE',
            `/api/v1/topics/${topic}/permissions/${users.writeGrantee.userId}`,
            undefined,
            ok(204),
          ],
          ['DELETE', `/api/v1/topics/${topic}`, undefined, ok(204)],
        ];
        for (const [method, path, body, expected] of calls) {
          const res = await http(h.baseUrl, method, path, { token, body });
          expect({ method, path, status: res.status }).toEqual({ method, path, status: expected });
          if (expected === 403) expect(res.body.code).toBe('ACCESS_DENIED');
          if (expected === 404) expect(res.body.code).toBe('TOPIC_NOT_FOUND');
        }
      },
    );
  });
});
