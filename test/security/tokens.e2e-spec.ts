import { createHmac } from 'node:crypto';
import { startApp, TestApp, TEST_JWT_SECRET } from '../support/app';
import { adminToken, createUser, http, login } from '../support/http';
import { isRefusal, tryConnectWs, uniqueTopic, waitFor } from '../support/clients';
import { b64url, claims, decodePart, rsaKeys, signHs256, signRs256, unsigned } from './support/jwt';

/**
 * Token forgery and revocation, on HTTP and on the WebSocket handshake (query token and bearer
 * subprotocol). A correctly signed token is the positive control: the forgeries fail for the
 * reason under test, not because hand-made tokens never work.
 */
describe('access tokens', () => {
  let sut: TestApp;
  let admin: { userId: string; username: string; permissions: string[] };
  let user: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    sut = await startApp({
      overrides: { 'limits.login_per_minute': 0, 'limits.login_per_ip_per_minute': 0 },
    });
    const me = await http(sut.baseUrl, 'GET', '/auth/me', { token: await adminToken(sut.baseUrl) });
    admin = { userId: me.body.user_id, username: me.body.username, permissions: ['admin'] };
    user = await createUser(sut.baseUrl, ['read', 'write']);
  });
  afterAll(() => sut.close());

  async function expectHttpRefused(token: string): Promise<void> {
    for (const [method, path, body] of [
      ['GET', '/auth/me', undefined],
      ['GET', '/api/v1/topics', undefined],
      ['POST', '/api/v1/messages', { topic: 'forged', payload: { x: 1 } }],
      ['GET', '/auth/users', undefined],
    ] as const) {
      const res = await http(sut.baseUrl, method, path, { token, body });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(res.body).toEqual({ detail: expect.any(String), code: expect.any(String) });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  }

  async function expectWsRefused(token: string): Promise<void> {
    for (const via of ['query', 'subprotocol'] as const) {
      const result = await tryConnectWs(sut.wsUrl, { token, via });
      if (!isRefusal(result)) {
        result.terminate();
        throw new Error(`WebSocket (${via}) accepted a forged token`);
      }
      expect({ via, status: result.status }).toEqual({ via, status: 401 });
    }
  }

  it('accepts a correctly signed token (positive control)', async () => {
    const token = signHs256(claims(admin), TEST_JWT_SECRET);
    const res = await http(sut.baseUrl, 'GET', '/auth/me', { token });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe(admin.userId);
    const ws = await tryConnectWs(sut.wsUrl, { token: signHs256(claims(user), TEST_JWT_SECRET) });
    expect(isRefusal(ws)).toBe(false);
    if (!isRefusal(ws)) await ws.close();
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  const forgeries: Array<[string, () => string]> = [
    ['alg none', () => unsigned(claims(admin))],
    ['alg None', () => unsigned(claims(admin), 'None')],
    ['alg NONE', () => unsigned(claims(admin), 'NONE')],
    [
      'alg none with a real signature appended',
      () => {
        const real = signHs256(claims(admin), TEST_JWT_SECRET);
        const head = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${real.split('.')[1]}`;
        return `${head}.${real.split('.')[2]}`;
      },
    ],
    ['RS256 with an attacker key', () => signRs256(claims(admin))],
    [
      'HS256 keyed with an RSA public key (HS/RS confusion)',
      () => signHs256(claims(admin), rsaKeys().publicPem),
    ],
    [
      'HS512 with the right secret (only HS256 is accepted)',
      () => {
        const head = `${b64url(JSON.stringify({ alg: 'HS512', typ: 'JWT' }))}.${b64url(JSON.stringify(claims(admin)))}`;
        return `${head}.${createHmac('sha512', TEST_JWT_SECRET).update(head).digest('base64url')}`;
      },
    ],
    ['wrong secret', () => signHs256(claims(admin), 'another-secret-that-is-long-enough-000000')],
    ['empty secret', () => signHs256(claims(admin), '')],
    [
      'expired',
      () => signHs256(claims(admin, { iat: now() - 7200, exp: now() - 10 }), TEST_JWT_SECRET),
    ],
    [
      'issued in the future',
      () => signHs256(claims(admin, { iat: now() + 3600 }), TEST_JWT_SECRET),
    ],
    ['missing sub', () => signHs256(claims(admin, { sub: undefined }), TEST_JWT_SECRET)],
    ['missing username', () => signHs256(claims(admin, { username: undefined }), TEST_JWT_SECRET)],
    ['missing exp', () => signHs256(claims(admin, { exp: undefined }), TEST_JWT_SECRET)],
    ['missing iat', () => signHs256(claims(admin, { iat: undefined }), TEST_JWT_SECRET)],
    ['exp as a string', () => signHs256(claims(admin, { exp: 'never' }), TEST_JWT_SECRET)],
    ['sub as an object', () => signHs256(claims(admin, { sub: { $ne: null } }), TEST_JWT_SECRET)],
    ['jti as a number', () => signHs256(claims(admin, { jti: 12 }), TEST_JWT_SECRET)],
    [
      'unknown user',
      () => signHs256(claims({ ...admin, userId: 'no-such-user' }), TEST_JWT_SECRET),
    ],
    [
      'payload swapped under a real signature',
      () => {
        const real = signHs256(claims(user), TEST_JWT_SECRET);
        const [head, , sig] = real.split('.');
        return `${head}.${b64url(JSON.stringify(claims(admin)))}.${sig}`;
      },
    ],
    ['garbage', () => 'not-a-jwt'],
    ['three empty parts', () => '..'],
    ['header only', () => b64url(JSON.stringify({ alg: 'HS256' }))],
    [
      'kid path injection',
      () => signHs256(claims(admin), '', { alg: 'HS256', typ: 'JWT', kid: '../../../../dev/null' }),
    ],
  ];

  it.each(forgeries)('refuses a token with %s on HTTP and WebSocket', async (_name, make) => {
    const token = make();
    await expectHttpRefused(token);
    await expectWsRefused(token);
  });

  it('does not grant admin rights from the permissions claim (the stored user decides)', async () => {
    const token = signHs256(
      claims({ ...user, permissions: ['admin', 'read', 'write'] }),
      TEST_JWT_SECRET,
    );
    const res = await http(sut.baseUrl, 'GET', '/auth/users', { token });
    expect(res.status).toBe(403);
    expect(res.body.code).toEqual(expect.any(String));
  });

  it('refuses a logged-out token on HTTP and WebSocket, and only that token', async () => {
    const victim = await createUser(sut.baseUrl, ['read', 'write']);
    const second = await login(sut.baseUrl, victim.username, victim.password);
    const logout = await http(sut.baseUrl, 'POST', '/auth/logout', { token: victim.token });
    expect(logout.status).toBe(204);

    const me = await http(sut.baseUrl, 'GET', '/auth/me', { token: victim.token });
    expect(me.status).toBe(401);
    expect(me.body).toEqual({ detail: 'Token has been revoked', code: expect.any(String) });
    const again = await http(sut.baseUrl, 'POST', '/auth/logout', { token: victim.token });
    expect(again.status).toBe(401);
    const publish = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token: victim.token,
      body: { topic: uniqueTopic('revoked'), payload: { x: 1 } },
    });
    expect(publish.status).toBe(401);
    const poll = await http(sut.baseUrl, 'POST', '/messages/poll', {
      token: victim.token,
      body: { topics: [uniqueTopic('revoked')], timeout: 1 },
    });
    expect(poll.status).toBe(401);
    await expectWsRefused(victim.token);

    expect((await http(sut.baseUrl, 'GET', '/auth/me', { token: second })).status).toBe(200);
    const ok = await tryConnectWs(sut.wsUrl, { token: second });
    expect(isRefusal(ok)).toBe(false);
    if (!isRefusal(ok)) await ok.close();
  });

  it('issues HS256 tokens with the documented claims and no secrets', async () => {
    const token = await login(sut.baseUrl, user.username, user.password);
    expect(decodePart(token, 0)).toEqual(expect.objectContaining({ alg: 'HS256' }));
    const payload = decodePart(token, 1);
    expect(Object.keys(payload).sort()).toEqual(
      ['exp', 'iat', 'jti', 'permissions', 'sub', 'username'].sort(),
    );
    expect(JSON.stringify(payload)).not.toContain(user.password);
  });

  it('takes a removed permission or a deactivation into account within seconds, live sockets included', async () => {
    const victim = await createUser(sut.baseUrl, ['read', 'write']);
    const admin = await adminToken(sut.baseUrl);
    const topic = uniqueTopic('demote');
    expect(
      (
        await http(sut.baseUrl, 'POST', '/api/v1/messages', {
          token: victim.token,
          body: { topic, payload: { n: 1 } },
        })
      ).status,
    ).toBe(201);
    const socket = await tryConnectWs(sut.wsUrl, { token: victim.token });
    if (isRefusal(socket)) throw new Error(`socket refused: ${socket.status}`);
    await socket.subscribe([topic]);

    const patch = await http(sut.baseUrl, 'PATCH', `/auth/users/${victim.userId}`, {
      token: admin,
      body: { permissions: ['read'] },
    });
    expect(patch.status).toBe(200);
    await waitFor(async () => {
      const res = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
        token: victim.token,
        body: { topic, payload: { n: 2 } },
      });
      return res.status === 403;
    }, 10_000);

    const deactivate = await http(sut.baseUrl, 'PATCH', `/auth/users/${victim.userId}`, {
      token: admin,
      body: { is_active: false },
    });
    expect(deactivate.status).toBe(200);
    await waitFor(async () => {
      const res = await http(sut.baseUrl, 'GET', '/auth/me', { token: victim.token });
      return res.status === 403;
    }, 10_000);
    await Promise.race([
      socket.closed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('socket of a deactivated user still open')), 10_000),
      ),
    ]);
  });
});
