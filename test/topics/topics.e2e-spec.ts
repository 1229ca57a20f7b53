import { http } from '../support/http';
import { adminToken } from '../support/http';
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

describe.each(BACKENDS)('topics (%s)', (backend) => {
  let h: Harness;
  let owner: TestUser;
  let other: TestUser;
  let admin: TestUser;

  beforeAll(async () => {
    h = await bootApp(backend);
    owner = await makeUser(h, ['read', 'write']);
    other = await makeUser(h, ['read', 'write']);
    admin = { userId: '', username: 'admin', token: await adminToken(h.baseUrl) };
  });
  afterAll(() => h?.close());

  describe('create', () => {
    it('creates a topic owned by the caller and answers TopicPublic with allowed_user_ids', async () => {
      const name = unique('create');
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: owner.token,
        body: { topic_name: name, description: 'User notification messages', is_public: true },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        topic_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        topic_name: name,
        owner_id: owner.userId,
        is_public: true,
        description: 'User notification messages',
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        allowed_user_ids: [],
      });
    });

    it('defaults to a private topic without description', async () => {
      const name = unique('defaults');
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: owner.token,
        body: { topic_name: name },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ is_public: false, description: null });
    });

    it('answers a duplicate name with 400, for the owner and for anyone else', async () => {
      const name = await createTopic(h, owner);
      for (const user of [owner, other]) {
        const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
          token: user.token,
          body: { topic_name: name },
        });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          detail: `Topic '${name}' already exists`,
          code: 'TOPIC_EXISTS',
        });
      }
    });

    it('needs the global write permission', async () => {
      const reader = await makeUser(h, ['read']);
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: reader.token,
        body: { topic_name: unique('nowrite') },
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: "Permission 'write' required",
        code: 'PERMISSION_DENIED',
      });
    });

    it('needs a token', async () => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        body: { topic_name: unique('anon') },
      });
      expect(res.status).toBe(401);
    });

    it.each(['', 'a b', 'a.b', 'a/b', 'caf\u00e9', '\u65e5\u672c', 'x'.repeat(256), 'a:b'])(
      'rejects the invalid body name %j with 422',
      async (name) => {
        const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
          token: owner.token,
          body: { topic_name: name },
        });
        expect(res.status).toBe(422);
        expect(res.body.code).toBe('VALIDATION_ERROR');
        expect(res.body.detail).toEqual([
          expect.objectContaining({ loc: ['body', 'topic_name'], type: expect.any(String) }),
        ]);
      },
    );

    it('accepts a 255-character name of every allowed character class', async () => {
      const name = `Az09_-${unique('x').replace(/-/g, '_')}`.padEnd(255, 'z');
      expect(name).toHaveLength(255);
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: owner.token,
        body: { topic_name: name },
      });
      expect(res.status).toBe(201);
      const get = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}`, { token: owner.token });
      expect(get.status).toBe(200);
    });

    it('rejects a missing name and a description over 500 characters with 422', async () => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: owner.token,
        body: { description: 'x'.repeat(501) },
      });
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual(
        expect.arrayContaining([
          { loc: ['body', 'topic_name'], msg: 'Field required', type: 'missing' },
          expect.objectContaining({ loc: ['body', 'description'], type: 'string_too_long' }),
        ]),
      );
    });
  });

  describe('path names', () => {
    const invalid = ['a.b', 'caf%C3%A9', 'a%20b', 'x'.repeat(256), 'a%3Ab'];

    it.each(invalid)('answers 422 (loc path) for %s on every topic route', async (name) => {
      const routes: Array<[string, string, unknown]> = [
        ['GET', `/api/v1/topics/${name}`, undefined],
        ['PUT', `/api/v1/topics/${name}`, { description: 'x' }],
        ['DELETE', `/api/v1/topics/${name}`, undefined],
        ['GET', `/api/v1/topics/${name}/messages`, undefined],
        ['GET', `/api/v1/topics/${name}/permissions`, undefined],
        ['POST', `/api/v1/topics/${name}/permissions`, { username: 'admin' }],
        ['DELETE', `/api/v1/topics/${name}/permissions/${other.userId}`, undefined],
      ];
      for (const [method, path, body] of routes) {
        const res = await http(h.baseUrl, method, path, { token: owner.token, body });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 422 });
        expect(res.body.detail).toEqual([expect.objectContaining({ loc: ['path', 'topic_name'] })]);
      }
    });

    it('answers 404 for a valid name that does not exist', async () => {
      const name = unique('missing');
      const res = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}`, { token: owner.token });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: `Topic '${name}' not found`, code: 'TOPIC_NOT_FOUND' });
    });
  });

  describe('stats', () => {
    it('is not shadowed by /{topic_name}: non-admins get 403 even when a topic "stats" exists', async () => {
      await http(h.baseUrl, 'POST', '/api/v1/topics', {
        token: owner.token,
        body: { topic_name: 'stats', is_public: true },
      });
      for (const user of [owner, other]) {
        const res = await http(h.baseUrl, 'GET', '/api/v1/topics/stats', { token: user.token });
        expect(res.status).toBe(403);
        expect(res.body).toEqual({
          detail: "Permission 'admin' required",
          code: 'PERMISSION_DENIED',
        });
      }
    });

    it('gives admins real counts of topics, public topics and messages', async () => {
      const before = await http(h.baseUrl, 'GET', '/api/v1/topics/stats', { token: admin.token });
      expect(before.status).toBe(200);
      expect(before.body).toEqual({
        total_topics: expect.any(Number),
        public_topics: expect.any(Number),
        total_messages: expect.any(Number),
      });
      const pub = await createTopic(h, owner, { is_public: true });
      const priv = await createTopic(h, other);
      for (let i = 0; i < 3; i++) expect((await publish(h, owner, pub)).status).toBe(201);
      expect((await publish(h, other, priv)).status).toBe(201);
      const after = await http(h.baseUrl, 'GET', '/api/v1/topics/stats', { token: admin.token });
      expect(after.body).toEqual({
        total_topics: before.body.total_topics + 2,
        public_topics: before.body.public_topics + 1,
        total_messages: before.body.total_messages + 4,
      });
    });
  });

  describe('listing', () => {
    it('shows owned, granted and public topics; admins see all; allowed_user_ids only to managers', async () => {
      const a = await makeUser(h, ['read', 'write']);
      const b = await makeUser(h, ['read']);
      const c = await makeUser(h, []);
      const privateA = await createTopic(h, a);
      const publicA = await createTopic(h, a, { is_public: true });
      const grantedB = await createTopic(h, a);
      await grant(h, a, grantedB, b);
      const writeOnlyC = await createTopic(h, a);
      await grant(h, a, writeOnlyC, c, ['write']);

      const names = async (user: TestUser): Promise<Map<string, any>> => {
        const res = await http(h.baseUrl, 'GET', '/api/v1/topics', { token: user.token });
        expect(res.status).toBe(200);
        return new Map(res.body.map((t: any) => [t.topic_name, t]));
      };

      const seenByA = await names(a);
      expect([...seenByA.keys()]).toEqual(expect.arrayContaining([privateA, publicA, grantedB]));
      expect(seenByA.get(grantedB).allowed_user_ids).toEqual([b.userId]);

      const seenByB = await names(b);
      expect(seenByB.has(publicA)).toBe(true);
      expect(seenByB.has(grantedB)).toBe(true);
      expect(seenByB.has(privateA)).toBe(false);
      expect(seenByB.has(writeOnlyC)).toBe(false);
      expect(seenByB.get(grantedB)).not.toHaveProperty('allowed_user_ids');
      expect(seenByB.get(publicA)).not.toHaveProperty('allowed_user_ids');

      const seenByC = await names(c);
      expect(seenByC.has(writeOnlyC)).toBe(true);
      expect(seenByC.has(privateA)).toBe(false);

      const seenByAdmin = await names(admin);
      for (const name of [privateA, publicA, grantedB, writeOnlyC]) {
        expect(seenByAdmin.get(name)).toHaveProperty('allowed_user_ids');
      }
    });
  });

  describe('update', () => {
    it('toggles the public flag both ways, announcing when a topic becomes private', async () => {
      const name = await createTopic(h, owner, { description: 'keep me' });
      const path = `/api/v1/topics/${name}`;
      expect((await http(h.baseUrl, 'GET', path, { token: other.token })).status).toBe(404);

      const on = await http(h.baseUrl, 'PUT', path, {
        token: owner.token,
        body: { is_public: true },
      });
      expect(on.status).toBe(200);
      expect(on.body).toMatchObject({ is_public: true, description: 'keep me' });
      const seen = await http(h.baseUrl, 'GET', path, { token: other.token });
      expect(seen.status).toBe(200);
      expect(seen.body).not.toHaveProperty('allowed_user_ids');

      h.events.length = 0;
      const off = await http(h.baseUrl, 'PUT', path, {
        token: owner.token,
        body: { is_public: false, description: null },
      });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ is_public: false, description: 'keep me' });
      expect((await http(h.baseUrl, 'GET', path, { token: other.token })).status).toBe(404);
      await waitFor(() =>
        h.events.some((e) => e.kind === 'topic-access-changed' && e.topic === name),
      );
    });

    it('changes and clears the description; an empty body changes nothing', async () => {
      const name = await createTopic(h, owner, { description: 'one' });
      const path = `/api/v1/topics/${name}`;
      const two = await http(h.baseUrl, 'PUT', path, {
        token: owner.token,
        body: { description: 'two' },
      });
      expect(two.body.description).toBe('two');
      const same = await http(h.baseUrl, 'PUT', path, { token: owner.token, body: {} });
      expect(same.status).toBe(200);
      expect(same.body.description).toBe('two');
      const cleared = await http(h.baseUrl, 'PUT', path, {
        token: owner.token,
        body: { description: '' },
      });
      expect(cleared.body.description).toBeNull();
    });

    it('rejects a non-boolean is_public with 422', async () => {
      const name = await createTopic(h, owner);
      const res = await http(h.baseUrl, 'PUT', `/api/v1/topics/${name}`, {
        token: owner.token,
        body: { is_public: 'yes' },
      });
      expect(res.status).toBe(422);
      expect(res.body.detail[0].loc).toEqual(['body', 'is_public']);
    });
  });

  describe('grants', () => {
    it('grants by username with the default read permission, and lists grants', async () => {
      const name = await createTopic(h, owner);
      const res = await http(h.baseUrl, 'POST', `/api/v1/topics/${name}/permissions`, {
        token: owner.token,
        body: { username: other.username },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        topic_name: name,
        user_id: other.userId,
        username: other.username,
        permissions: ['read'],
        granted_at: expect.stringMatching(/Z$/),
      });
      const list = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}/permissions`, {
        token: owner.token,
      });
      expect(list.status).toBe(200);
      expect(list.body).toEqual([res.body]);
      const page = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}/messages`, {
        token: other.token,
      });
      expect(page.status).toBe(200);
    });

    it('grants by user_id with read and write', async () => {
      const name = await createTopic(h, owner);
      const res = await http(h.baseUrl, 'POST', `/api/v1/topics/${name}/permissions`, {
        token: owner.token,
        body: { user_id: other.userId, permissions: ['write', 'read'] },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ user_id: other.userId, permissions: ['read', 'write'] });
      expect((await publish(h, other, name)).status).toBe(201);
    });

    it('refuses a repeated identical grant with 400 and replaces a grant with other permissions', async () => {
      const name = await createTopic(h, owner);
      await grant(h, owner, name, other, ['read']);
      const again = await http(h.baseUrl, 'POST', `/api/v1/topics/${name}/permissions`, {
        token: owner.token,
        body: { username: other.username, permissions: ['read'] },
      });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('GRANT_EXISTS');
      expect((await publish(h, other, name)).status).toBe(403);
      await grant(h, owner, name, other, ['read', 'write']);
      expect((await publish(h, other, name)).status).toBe(201);
      await grant(h, owner, name, other, ['read']);
      expect((await publish(h, other, name)).status).toBe(403);
    });

    it('answers 400 without a target, 404 for an unknown user, 422 for an unknown permission', async () => {
      const name = await createTopic(h, owner);
      const path = `/api/v1/topics/${name}/permissions`;
      const none = await http(h.baseUrl, 'POST', path, { token: owner.token, body: {} });
      expect(none.status).toBe(400);
      expect(none.body).toEqual({
        detail: 'Either user_id or username must be provided',
        code: 'GRANT_TARGET_REQUIRED',
      });
      const unknown = await http(h.baseUrl, 'POST', path, {
        token: owner.token,
        body: { username: unique('ghost') },
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ detail: 'User not found', code: 'USER_NOT_FOUND' });
      const badPerm = await http(h.baseUrl, 'POST', path, {
        token: owner.token,
        body: { username: other.username, permissions: ['admin'] },
      });
      expect(badPerm.status).toBe(422);
      expect(badPerm.body.detail[0].loc).toEqual(['body', 'permissions']);
    });

    it("revoking answers the grantee's waiting poll with 404 at once", async () => {
      const name = await createTopic(h, owner);
      await grant(h, owner, name, other, ['read']);
      const started = Date.now();
      const polling = http(h.baseUrl, 'POST', '/messages/poll', {
        token: other.token,
        body: { topics: [name], timeout: 20 },
      });
      await waitForPoller(h, admin.token, name);
      const path = `/api/v1/topics/${name}/permissions/${other.userId}`;
      expect((await http(h.baseUrl, 'DELETE', path, { token: owner.token })).status).toBe(204);
      const res = await polling;
      expect(res.status).toBe(404);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('revokes at once (and announces it); a second revoke is 404', async () => {
      const name = await createTopic(h, owner);
      await grant(h, owner, name, other, ['read', 'write']);
      expect((await publish(h, other, name)).status).toBe(201);
      h.events.length = 0;
      const path = `/api/v1/topics/${name}/permissions/${other.userId}`;
      const res = await http(h.baseUrl, 'DELETE', path, { token: owner.token });
      expect(res.status).toBe(204);
      await waitFor(() =>
        h.events.some((e) => e.kind === 'topic-access-changed' && e.topic === name),
      );
      expect((await publish(h, other, name)).status).toBe(403);
      const page = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}/messages`, {
        token: other.token,
      });
      expect(page.status).toBe(404);
      const again = await http(h.baseUrl, 'DELETE', path, { token: owner.token });
      expect(again.status).toBe(404);
      expect(again.body).toEqual({
        detail: 'User does not have access to this topic',
        code: 'GRANT_NOT_FOUND',
      });
    });
  });

  describe('delete', () => {
    it('removes the topic, its messages and its grants, and announces topic-deleted', async () => {
      const name = await createTopic(h, owner);
      await grant(h, owner, name, other, ['read']);
      for (let i = 0; i < 3; i++) expect((await publish(h, owner, name)).status).toBe(201);
      h.events.length = 0;
      const res = await http(h.baseUrl, 'DELETE', `/api/v1/topics/${name}`, { token: owner.token });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      await waitFor(() => h.events.some((e) => e.kind === 'topic-deleted' && e.topic === name));
      const gone = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}`, { token: owner.token });
      expect(gone.status).toBe(404);

      // Re-created by someone else: no old messages, no old grants.
      const third = await makeUser(h, ['read', 'write']);
      await createTopic(h, third, { topic_name: name });
      const page = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}/messages`, {
        token: third.token,
      });
      expect(page.body.messages).toEqual([]);
      const grants = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}/permissions`, {
        token: third.token,
      });
      expect(grants.body).toEqual([]);
      const old = await http(h.baseUrl, 'GET', `/api/v1/topics/${name}`, { token: other.token });
      expect(old.status).toBe(404);
    });

    it('ends live consumers: a waiting poll is answered 404 at once', async () => {
      const name = await createTopic(h, owner);
      await grant(h, owner, name, other, ['read']);
      const started = Date.now();
      const polling = http(h.baseUrl, 'POST', '/messages/poll', {
        token: other.token,
        body: { topics: [name], timeout: 20 },
      });
      await waitForPoller(h, admin.token, name);
      expect(
        (await http(h.baseUrl, 'DELETE', `/api/v1/topics/${name}`, { token: owner.token })).status,
      ).toBe(204);
      const res = await polling;
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('TOPIC_NOT_FOUND');
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('answers 404 for a missing topic', async () => {
      const res = await http(h.baseUrl, 'DELETE', `/api/v1/topics/${unique('nope')}`, {
        token: owner.token,
      });
      expect(res.status).toBe(404);
    });
  });
});

async function waitForPoller(h: Harness, token: string, topic: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const stats = await http(h.baseUrl, 'GET', '/messages/poll/stats', { token });
    if (stats.body?.topic_subscriber_counts?.[topic] > 0) return;
    if (Date.now() > deadline) throw new Error(`no poller on ${topic}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
