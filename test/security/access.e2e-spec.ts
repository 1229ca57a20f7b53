import { startApp, TestApp } from '../support/app';
import { adminToken, createUser, http } from '../support/http';
import {
  connectWs,
  Frame,
  isRefusal,
  sleep,
  tryConnectWs,
  uniqueTopic,
  WsClient,
} from '../support/clients';

type User = Awaited<ReturnType<typeof createUser>>;

/**
 * Privilege escalation: admin routes, own permissions, private topics through every transport
 * (GET, paging, long-poll, WebSocket), publishing into others' topics, grant management.
 * CONTRACT.md: a caller who may not read a topic gets 404 (no existence oracle), except publish
 * (403 `Access denied to topic`).
 */
describe('access control', () => {
  let sut: TestApp;
  let admin: string;
  let owner: User;
  let intruder: User;
  let reader: User;
  let writer: User;
  let readOnly: User;
  let writeOnly: User;
  let privateTopic: string;
  let publicTopic: string;
  const SECRET_MARK = `private-payload-${Date.now()}`;
  const sockets: WsClient[] = [];

  const api = (method: string, path: string, token: string, body?: unknown) =>
    http(sut.baseUrl, method, path, { token, body });

  beforeAll(async () => {
    sut = await startApp({
      overrides: { 'limits.login_per_minute': 0, 'limits.login_per_ip_per_minute': 0 },
    });
    admin = await adminToken(sut.baseUrl);
    [owner, intruder, reader, writer, readOnly, writeOnly] = await Promise.all([
      createUser(sut.baseUrl, ['read', 'write']),
      createUser(sut.baseUrl, ['read', 'write']),
      createUser(sut.baseUrl, ['read', 'write']),
      createUser(sut.baseUrl, ['read', 'write']),
      createUser(sut.baseUrl, ['read']),
      createUser(sut.baseUrl, ['write']),
    ]);
    privateTopic = uniqueTopic('private');
    publicTopic = uniqueTopic('public');
    expect(
      (
        await api('POST', '/api/v1/topics', owner.token, {
          topic_name: privateTopic,
          is_public: false,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/v1/topics', owner.token, {
          topic_name: publicTopic,
          is_public: true,
        })
      ).status,
    ).toBe(201);
    for (const [grantee, permissions] of [
      [reader, ['read']],
      [writer, ['write']],
      [readOnly, ['read', 'write']],
      [writeOnly, ['read', 'write']],
    ] as const) {
      const res = await api('POST', `/api/v1/topics/${privateTopic}/permissions`, owner.token, {
        user_id: grantee.userId,
        permissions,
      });
      expect(res.status).toBeLessThan(300);
    }
    const published = await api('POST', '/api/v1/messages', owner.token, {
      topic: privateTopic,
      payload: { mark: SECRET_MARK },
    });
    expect(published.status).toBe(201);
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await sut.close();
  });

  function expectNoLeak(res: { text: string }): void {
    expect(res.text).not.toContain(SECRET_MARK);
    expect(res.text).not.toContain(owner.userId);
  }

  /** An ACCESS_DENIED error frame, no `subscribed` naming the topic, no message, no owner id. */
  function expectDenied(frames: Frame[], topic: string): void {
    expect(frames.filter((f) => f.type === 'error').map((f) => f.code)).toContain('ACCESS_DENIED');
    for (const f of frames) {
      if (f.type === 'subscribed') expect(f.topics).not.toContain(topic);
      expect(f.type).not.toBe('message');
    }
    expect(JSON.stringify(frames)).not.toContain(owner.userId);
    expect(JSON.stringify(frames)).not.toContain(SECRET_MARK);
  }

  describe('admin routes', () => {
    it.each([
      [
        'POST',
        '/auth/register',
        { username: 'sneaky-admin', password: 'password-123', permissions: ['admin'] },
      ],
      ['GET', '/auth/users', undefined],
      ['GET', '/auth/users/stats', undefined],
      ['GET', '/api/v1/topics/stats', undefined],
    ])('refuses %s %s to a non-admin with 403', async (method, path, body) => {
      const res = await api(method, path, intruder.token, body);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: expect.any(String), code: expect.any(String) });
      const anonymous = await http(sut.baseUrl, method, path, { body });
      expect(anonymous.status).toBe(401);
    });

    it('refuses PATCH and DELETE of users, own record included, to a non-admin', async () => {
      for (const target of [intruder.userId, owner.userId]) {
        const patch = await api('PATCH', `/auth/users/${target}`, intruder.token, {
          permissions: ['admin', 'read', 'write'],
        });
        expect(patch.status).toBe(403);
        const del = await api('DELETE', `/auth/users/${target}`, intruder.token);
        expect(del.status).toBe(403);
      }
      const me = await api('GET', '/auth/me', intruder.token);
      expect(me.status).toBe(200);
      expect([...me.body.permissions].sort()).toEqual(['read', 'write']);
      const users = await api('GET', '/auth/users', admin);
      expect(users.body.map((u: { user_id: string }) => u.user_id)).toContain(owner.userId);
    });

    it('keeps sessions private: a user cannot list or revoke another user’s sessions', async () => {
      const mine = await api('GET', '/auth/sessions', owner.token);
      expect(mine.status).toBe(200);
      expect(mine.body.length).toBeGreaterThan(0);
      const theirs = await api('GET', '/auth/sessions', intruder.token);
      const ownerJtis = mine.body.map((x: { jti: string }) => x.jti);
      expect(theirs.body.map((x: { jti: string }) => x.jti)).not.toEqual(
        expect.arrayContaining([ownerJtis[0]]),
      );
      const revoke = await api('DELETE', `/auth/sessions/${ownerJtis[0]}`, intruder.token);
      expect(revoke.status).toBe(404);
      const still = await api('GET', '/auth/sessions', owner.token);
      expect(still.body.map((x: { jti: string }) => x.jti)).toContain(ownerJtis[0]);
    });

    it('refuses a deleted user’s token', async () => {
      const doomed = await createUser(sut.baseUrl, ['read', 'write']);
      expect((await api('DELETE', `/auth/users/${doomed.userId}`, admin)).status).toBe(204);
      const me = await api('GET', '/auth/me', doomed.token);
      expect(me.status).toBe(401);
      const ws = await tryConnectWs(sut.wsUrl, { token: doomed.token });
      if (!isRefusal(ws)) {
        ws.terminate();
        throw new Error('a deleted user opened a WebSocket');
      }
      expect(ws.status).toBe(401);
    });

    it('never returns password hashes in user views', async () => {
      for (const res of [
        await api('GET', '/auth/users', admin),
        await api('GET', '/auth/me', owner.token),
      ]) {
        expect(res.status).toBe(200);
        expect(res.text).not.toMatch(/hashed_password|password|\$2[aby]\$/i);
      }
    });
  });

  describe('a private topic, seen by a stranger', () => {
    it('looks exactly like a topic that does not exist (GET, paging, list)', async () => {
      const missing = uniqueTopic('missing');
      const got = await api('GET', `/api/v1/topics/${privateTopic}`, intruder.token);
      const none = await api('GET', `/api/v1/topics/${missing}`, intruder.token);
      expect(got.status).toBe(404);
      expect(got.body.code).toBe('TOPIC_NOT_FOUND');
      expect(got.body.detail.replace(privateTopic, 'X')).toBe(
        none.body.detail.replace(missing, 'X'),
      );
      expectNoLeak(got);

      const page = await api(
        'GET',
        `/api/v1/topics/${privateTopic}/messages?order=asc`,
        intruder.token,
      );
      expect(page.status).toBe(404);
      expect(page.body.code).toBe('TOPIC_NOT_FOUND');
      expectNoLeak(page);

      const list = await api('GET', '/api/v1/topics', intruder.token);
      expect(list.status).toBe(200);
      expect(list.body.map((t: { topic_name: string }) => t.topic_name)).not.toContain(
        privateTopic,
      );
      expect(list.body.map((t: { topic_name: string }) => t.topic_name)).toContain(publicTopic);
    });

    it('cannot be long-polled, with or without since', async () => {
      for (const body of [
        { topics: [privateTopic], since: { [privateTopic]: '0-0' }, timeout: 1 },
        { topics: [privateTopic], timeout: 1 },
        { topics: [publicTopic, privateTopic], timeout: 1 },
      ]) {
        const res = await api('POST', '/messages/poll', intruder.token, body);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('TOPIC_NOT_FOUND');
        expectNoLeak(res);
      }
    });

    it('cannot be subscribed over WebSocket, with any offset, and delivers nothing', async () => {
      const ws = await connectWs(sut.wsUrl, { token: intruder.token });
      sockets.push(ws);
      for (const offset of [undefined, 'earliest', '0-0', 'last']) {
        const frames = await ws.subscribeCollect([privateTopic], offset ? { offset } : {});
        expectDenied(frames, privateTopic);
      }
      // Mixed subscription: the readable topic proceeds, the private one does not.
      const mixed = await ws.subscribeCollect([publicTopic, privateTopic]);
      expectDenied(mixed, privateTopic);
      expect(mixed.find((f) => f.type === 'subscribed')?.topics).toEqual([publicTopic]);
      await api('POST', '/api/v1/messages', owner.token, {
        topic: privateTopic,
        payload: { mark: SECRET_MARK },
      });
      await sleep(700);
      expect(JSON.stringify(ws.frames)).not.toContain(SECRET_MARK);
      expect(ws.raw.join('')).not.toContain(SECRET_MARK);
      await ws.ping();
    });

    it('cannot be published into (403) and a bulk naming it writes nothing', async () => {
      const single = await api('POST', '/api/v1/messages', intruder.token, {
        topic: privateTopic,
        payload: { spoof: true },
      });
      expect(single.status).toBe(403);
      expect(single.body).toEqual({ detail: 'Access denied to topic', code: expect.any(String) });

      const mine = uniqueTopic('mine');
      await api('POST', '/api/v1/topics', intruder.token, { topic_name: mine });
      const bulk = await api('POST', '/api/v1/messages/bulk', intruder.token, {
        messages: [
          { topic: mine, payload: { n: 1 } },
          { topic: privateTopic, payload: { spoof: true } },
        ],
      });
      expect(bulk.status).toBe(403);
      const stored = await api('GET', `/api/v1/topics/${mine}/messages`, intruder.token);
      expect(stored.body.messages).toEqual([]);
      const ownerView = await api(
        'GET',
        `/api/v1/topics/${privateTopic}/messages?limit=100`,
        owner.token,
      );
      expect(JSON.stringify(ownerView.body)).not.toContain('spoof');
    });

    it('cannot be updated, deleted or have its grants managed', async () => {
      const attempts = [
        await api('PUT', `/api/v1/topics/${privateTopic}`, intruder.token, {
          description: 'pwned',
          is_public: true,
        }),
        await api('DELETE', `/api/v1/topics/${privateTopic}`, intruder.token),
        await api('GET', `/api/v1/topics/${privateTopic}/permissions`, intruder.token),
        await api('POST', `/api/v1/topics/${privateTopic}/permissions`, intruder.token, {
          user_id: intruder.userId,
          permissions: ['read', 'write'],
        }),
        await api(
          'DELETE',
          `/api/v1/topics/${privateTopic}/permissions/${reader.userId}`,
          intruder.token,
        ),
      ];
      for (const res of attempts) {
        expect(res.status).toBe(404);
        expectNoLeak(res);
      }
      const after = await api('GET', `/api/v1/topics/${privateTopic}`, owner.token);
      expect(after.status).toBe(200);
      expect(after.body.is_public).toBe(false);
      expect(after.body.description ?? '').not.toBe('pwned');
      expect(after.body.allowed_user_ids).not.toContain(intruder.userId);
    });
  });

  describe('grantees', () => {
    it('a read grantee reads but cannot publish, manage grants, update or delete', async () => {
      const view = await api('GET', `/api/v1/topics/${privateTopic}`, reader.token);
      expect(view.status).toBe(200);
      expect(view.body.allowed_user_ids).toBeUndefined();
      const page = await api('GET', `/api/v1/topics/${privateTopic}/messages`, reader.token);
      expect(page.status).toBe(200);

      const publish = await api('POST', '/api/v1/messages', reader.token, {
        topic: privateTopic,
        payload: { n: 1 },
      });
      expect(publish.status).toBe(403);
      for (const res of [
        await api('POST', `/api/v1/topics/${privateTopic}/permissions`, reader.token, {
          user_id: reader.userId,
          permissions: ['read', 'write'],
        }),
        await api('POST', `/api/v1/topics/${privateTopic}/permissions`, reader.token, {
          user_id: intruder.userId,
        }),
        await api(
          'DELETE',
          `/api/v1/topics/${privateTopic}/permissions/${writer.userId}`,
          reader.token,
        ),
        await api('PUT', `/api/v1/topics/${privateTopic}`, reader.token, { is_public: true }),
        await api('DELETE', `/api/v1/topics/${privateTopic}`, reader.token),
      ]) {
        expect([403, 404]).toContain(res.status);
      }
      expect((await api('GET', `/api/v1/topics/${privateTopic}`, intruder.token)).status).toBe(404);
      const again = await api('POST', '/api/v1/messages', reader.token, {
        topic: privateTopic,
        payload: { n: 2 },
      });
      expect(again.status).toBe(403);
    });

    it('a write grantee publishes but cannot read through any transport', async () => {
      const publish = await api('POST', '/api/v1/messages', writer.token, {
        topic: privateTopic,
        payload: { from: 'writer' },
      });
      expect(publish.status).toBe(201);
      expect(
        (await api('GET', `/api/v1/topics/${privateTopic}/messages`, writer.token)).status,
      ).toBe(404);
      expect(
        (await api('POST', '/messages/poll', writer.token, { topics: [privateTopic], timeout: 1 }))
          .status,
      ).toBe(404);
      const ws = await connectWs(sut.wsUrl, { token: writer.token });
      sockets.push(ws);
      expectDenied(await ws.subscribeCollect([privateTopic]), privateTopic);
    });

    it('a grant does not lift the global permission requirement', async () => {
      const publish = await api('POST', '/api/v1/messages', readOnly.token, {
        topic: privateTopic,
        payload: { n: 1 },
      });
      expect(publish.status).toBe(403);
      const poll = await api('POST', '/messages/poll', writeOnly.token, {
        topics: [privateTopic],
        timeout: 1,
      });
      expect(poll.status).toBe(403);
      const ws = await tryConnectWs(sut.wsUrl, { token: writeOnly.token });
      if (!isRefusal(ws)) {
        ws.terminate();
        throw new Error('a user without the read permission opened a WebSocket');
      }
      expect(ws.status).toBe(403);
    });

    it('revoking a grant stops delivery on a live socket at once', async () => {
      const grantee = await createUser(sut.baseUrl, ['read', 'write']);
      const topic = uniqueTopic('revocable');
      await api('POST', '/api/v1/topics', owner.token, { topic_name: topic });
      await api('POST', `/api/v1/topics/${topic}/permissions`, owner.token, {
        user_id: grantee.userId,
        permissions: ['read'],
      });
      const ws = await connectWs(sut.wsUrl, { token: grantee.token });
      sockets.push(ws);
      expect((await ws.subscribe([topic])).type).toBe('subscribed');
      await api('POST', '/api/v1/messages', owner.token, { topic, payload: { n: 'before' } });
      await ws.nextOfType('message');
      const revoke = await api(
        'DELETE',
        `/api/v1/topics/${topic}/permissions/${grantee.userId}`,
        owner.token,
      );
      expect(revoke.status).toBeLessThan(300);
      await sleep(200);
      await api('POST', '/api/v1/messages', owner.token, { topic, payload: { n: 'after' } });
      await sleep(700);
      expect(ws.peek('message').map((f) => f.payload?.n)).not.toContain('after');
      expect((await api('GET', `/api/v1/topics/${topic}/messages`, grantee.token)).status).toBe(
        404,
      );
    });
  });

  describe('public topics and admins', () => {
    it('a public topic is readable by anyone but writable and manageable only by its owner', async () => {
      expect(
        (await api('GET', `/api/v1/topics/${publicTopic}/messages`, intruder.token)).status,
      ).toBe(200);
      const publish = await api('POST', '/api/v1/messages', intruder.token, {
        topic: publicTopic,
        payload: { spoof: true },
      });
      expect(publish.status).toBe(403);
      for (const res of [
        await api('PUT', `/api/v1/topics/${publicTopic}`, intruder.token, { is_public: false }),
        await api('DELETE', `/api/v1/topics/${publicTopic}`, intruder.token),
        await api('POST', `/api/v1/topics/${publicTopic}/permissions`, intruder.token, {
          user_id: intruder.userId,
          permissions: ['write'],
        }),
      ]) {
        expect(res.status).toBe(403);
      }
      const view = await api('GET', `/api/v1/topics/${publicTopic}`, intruder.token);
      expect(view.body.is_public).toBe(true);
      expect(view.body.allowed_user_ids).toBeUndefined();
    });

    it('an admin reads a private topic', async () => {
      const page = await api('GET', `/api/v1/topics/${privateTopic}/messages?limit=100`, admin);
      expect(page.status).toBe(200);
      expect(JSON.stringify(page.body)).toContain(SECRET_MARK);
    });
  });
});
