import { TestApp } from '../support/app';
import { http } from '../support/http';
import { TokenStore } from '../../src/storage/ports';
import {
  adminLogin,
  BACKENDS,
  Cluster,
  decodeJwt,
  expect401,
  loginFull,
  me,
  refresh,
  registerUser,
  TestUser,
} from './auth-fixtures';

describe.each(BACKENDS)('logout, refresh, revoke and sessions (%s)', (backend) => {
  const cluster = new Cluster(backend);
  let sut: TestApp;
  let admin: string;
  let alice: TestUser;

  beforeAll(async () => {
    sut = await cluster.start();
    admin = await adminLogin(sut.baseUrl);
    alice = await registerUser(sut.baseUrl, admin);
  });
  afterAll(() => cluster.stop());

  const session = (): Promise<{ token: string; refresh: string }> =>
    loginFull(sut.baseUrl, alice.username, alice.password);

  describe('POST /auth/logout', () => {
    it('answers 204, then the same token gets 401 Token has been revoked everywhere', async () => {
      const { token } = await session();
      const other = await session();
      const res = await http(sut.baseUrl, 'POST', '/auth/logout', { token });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect401(await me(sut.baseUrl, token), 'Token has been revoked');
      expect401(
        await http(sut.baseUrl, 'GET', '/auth/sessions', { token }),
        'Token has been revoked',
      );
      expect401(
        await http(sut.baseUrl, 'POST', '/auth/logout', { token }),
        'Token has been revoked',
      );
      expect((await me(sut.baseUrl, other.token)).status).toBe(200);
    });

    it('leaves the refresh token of the session usable', async () => {
      const { token, refresh: rt } = await session();
      await http(sut.baseUrl, 'POST', '/auth/logout', { token });
      expect((await refresh(sut.baseUrl, rt)).status).toBe(200);
    });

    it('refuses a request without a token with 401', async () => {
      expect401(await http(sut.baseUrl, 'POST', '/auth/logout'), 'Not authenticated');
    });
  });

  describe('POST /auth/token/refresh', () => {
    it('rotates: new access and refresh tokens, the new ones work', async () => {
      const first = await session();
      const res = await refresh(sut.baseUrl, first.refresh);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: 3600,
        refresh_token: expect.any(String),
        refresh_token_secondary: null,
      });
      expect(res.body.refresh_token).not.toBe(first.refresh);
      expect(res.body.refresh_token.split('.')[0]).not.toBe(first.refresh.split('.')[0]);
      expect(decodeJwt(res.body.access_token).payload.jti).not.toBe(
        decodeJwt(first.token).payload.jti,
      );
      expect((await me(sut.baseUrl, res.body.access_token)).body.user_id).toBe(alice.userId);
      const again = await refresh(sut.baseUrl, res.body.refresh_token);
      expect(again.status).toBe(200);
    });

    it('detects a replay: the old token gets 401 and the whole chain dies', async () => {
      const first = await session();
      const second = (await refresh(sut.baseUrl, first.refresh)).body;
      const third = (await refresh(sut.baseUrl, second.refresh_token)).body;

      expect401(await refresh(sut.baseUrl, first.refresh), 'invalid refresh token');

      expect401(await refresh(sut.baseUrl, third.refresh_token), 'invalid refresh token');
      expect401(await me(sut.baseUrl, third.access_token), 'Token has been revoked');
      expect401(await me(sut.baseUrl, second.access_token), 'Token has been revoked');
      const live = (await http(sut.baseUrl, 'GET', '/auth/sessions', { token: alice.token })).body;
      const liveJtis = live.map((s: { jti: string }) => s.jti);
      for (const wire of [first.refresh, second.refresh_token, third.refresh_token]) {
        expect(liveJtis).not.toContain(wire.split('.')[0]);
      }
    });

    it('lets exactly one of two concurrent refreshes of one token succeed', async () => {
      for (let round = 0; round < 5; round++) {
        const { refresh: rt } = await session();
        const results = await Promise.all([refresh(sut.baseUrl, rt), refresh(sut.baseUrl, rt)]);
        const statuses = results.map((r) => r.status).sort();
        expect(statuses).toEqual([200, 401]);
      }
    });

    it('lets exactly one win even when both requests passed every check before rotating', async () => {
      // Holds each lookup until both requests have made theirs, so both see an active token and
      // only the atomic compare-and-set can decide.
      const store = sut.app.get(TokenStore);
      const { refresh: rt } = await session();
      const [jti] = rt.split('.');
      const original = store.getRefresh.bind(store);
      let waiting: Array<() => void> = [];
      const spy = jest.spyOn(store, 'getRefresh').mockImplementation(async (id) => {
        const record = await original(id);
        if (id === jti && waiting.length < 2) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) waiting.forEach((release) => release());
          });
        }
        return record;
      });
      try {
        const results = await Promise.all([refresh(sut.baseUrl, rt), refresh(sut.baseUrl, rt)]);
        expect(waiting).toHaveLength(2);
        expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
      } finally {
        spy.mockRestore();
        waiting = [];
      }
    });

    it('treats the concurrent reuse as a replay: the chain is revoked afterwards', async () => {
      const { refresh: rt } = await session();
      const results = await Promise.all([refresh(sut.baseUrl, rt), refresh(sut.baseUrl, rt)]);
      const winner = results.find((r) => r.status === 200);
      expect(winner).toBeDefined();
      expect401(await refresh(sut.baseUrl, winner?.body.refresh_token), 'invalid refresh token');
    });

    it.each([
      ['no dot', 'abcdef'],
      ['an empty secret', 'abcdef.'],
      ['an empty jti', '.secret'],
      ['an unknown jti', '00000000-0000-4000-8000-000000000000.c2VjcmV0'],
    ])('refuses a token with %s with 401', async (_name, token) => {
      expect401(await refresh(sut.baseUrl, token), 'invalid refresh token');
    });

    it('refuses the right jti with a wrong secret, and the token stays valid', async () => {
      const { refresh: rt } = await session();
      const [jti] = rt.split('.');
      expect401(await refresh(sut.baseUrl, `${jti}.${'A'.repeat(43)}`), 'invalid refresh token');
      expect((await refresh(sut.baseUrl, rt)).status).toBe(200);
    });

    it('refuses a missing refresh_token with 422', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/token/refresh', { body: {} });
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([
        { loc: ['body', 'refresh_token'], msg: 'Field required', type: 'missing' },
      ]);
    });

    it('refuses the token of a deactivated user with 401 user not found', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      await http(sut.baseUrl, 'PATCH', `/auth/users/${bob.userId}`, {
        token: admin,
        body: { is_active: false },
      });
      const res = await refresh(sut.baseUrl, bob.refresh);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: 'user not found', code: 'USER_NOT_FOUND' });
    });

    it('refuses the token of a deleted user with 401', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      await http(sut.baseUrl, 'DELETE', `/auth/users/${bob.userId}`, { token: admin });
      expect((await refresh(sut.baseUrl, bob.refresh)).status).toBe(401);
    });
  });

  describe('POST /auth/token/revoke', () => {
    const revoke = (refresh_token: string, revoke_chain?: boolean) =>
      http(sut.baseUrl, 'POST', '/auth/token/revoke', { body: { refresh_token, revoke_chain } });

    it.each([
      ['no dot', 'abcdef'],
      ['an empty secret', 'abcdef.'],
      ['an empty jti', '.secret'],
      ['nothing', ''],
    ])('answers a token with %s with 400 malformed refresh token', async (_name, token) => {
      const res = await revoke(token);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ detail: 'malformed refresh token', code: expect.any(String) });
    });

    it('answers an unknown token with 204 and revokes nothing', async () => {
      expect((await revoke('00000000-0000-4000-8000-000000000000.c2VjcmV0')).status).toBe(204);
    });

    it('answers a wrong secret with 204 and leaves the token valid', async () => {
      const { refresh: rt } = await session();
      expect((await revoke(`${rt.split('.')[0]}.wrong-secret`)).status).toBe(204);
      expect((await refresh(sut.baseUrl, rt)).status).toBe(200);
    });

    it('revokes a valid token (204): it can no longer refresh, its access token is revoked', async () => {
      const { token, refresh: rt } = await session();
      const res = await revoke(rt);
      expect(res.status).toBe(204);
      expect401(await refresh(sut.baseUrl, rt), 'invalid refresh token');
      expect401(await me(sut.baseUrl, token), 'Token has been revoked');
    });

    it('revokes only that token without revoke_chain, the whole chain with it', async () => {
      const a = await session();
      const b = await session();
      expect((await revoke(a.refresh)).status).toBe(204);
      expect((await refresh(sut.baseUrl, b.refresh)).status).toBe(200);

      const first = await session();
      const second = (await refresh(sut.baseUrl, first.refresh)).body;
      const third = (await refresh(sut.baseUrl, second.refresh_token)).body;
      expect((await revoke(second.refresh_token, true)).status).toBe(204);
      expect401(await refresh(sut.baseUrl, third.refresh_token), 'invalid refresh token');
      expect401(await me(sut.baseUrl, third.access_token), 'Token has been revoked');
    });

    it('needs no bearer token', async () => {
      const { refresh: rt } = await session();
      const res = await http(sut.baseUrl, 'POST', '/auth/token/revoke', {
        body: { refresh_token: rt },
        headers: { authorization: 'Bearer garbage' },
      });
      expect(res.status).toBe(204);
    });
  });

  describe('sessions', () => {
    it("lists the bearer's live refresh tokens with their fields", async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      const second = await loginFull(sut.baseUrl, bob.username, bob.password);
      const res = await http(sut.baseUrl, 'GET', '/auth/sessions', { token: bob.token });
      expect(res.status).toBe(200);
      expect(res.body).toHaveLength(2);
      const jtis = [bob.refresh, second.refresh].map((t) => t.split('.')[0]).sort();
      expect(res.body.map((s: { jti: string }) => s.jti).sort()).toEqual(jtis);
      const issued = Date.parse(res.body[0].issued_at);
      expect(res.body[0]).toEqual({
        jti: expect.any(String),
        issued_at: expect.stringMatching(/Z$/),
        expires_at: expect.stringMatching(/Z$/),
        last_used_at: null,
        client_hint: 'password-login',
      });
      expect(Date.parse(res.body[0].expires_at) - issued).toBe(90 * 86_400_000);
    });

    it('shows a rotated session once, by its newest token', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      const rotated = (await refresh(sut.baseUrl, bob.refresh)).body;
      const res = await http(sut.baseUrl, 'GET', '/auth/sessions', { token: bob.token });
      expect(res.body.map((s: { jti: string }) => s.jti)).toEqual([
        rotated.refresh_token.split('.')[0],
      ]);
    });

    it('deletes one of your sessions: 204, gone from the list, refresh and access dead', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      const other = await loginFull(sut.baseUrl, bob.username, bob.password);
      const jti = other.refresh.split('.')[0];
      const res = await http(sut.baseUrl, 'DELETE', `/auth/sessions/${jti}`, { token: bob.token });
      expect(res.status).toBe(204);
      const list = await http(sut.baseUrl, 'GET', '/auth/sessions', { token: bob.token });
      expect(list.body.map((s: { jti: string }) => s.jti)).toEqual([bob.refresh.split('.')[0]]);
      expect401(await refresh(sut.baseUrl, other.refresh), 'invalid refresh token');
      expect401(await me(sut.baseUrl, other.token), 'Token has been revoked');
      expect((await me(sut.baseUrl, bob.token)).status).toBe(200);
    });

    it("answers 404 session not found for someone else's session and for unknown ids", async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      for (const jti of [bob.refresh.split('.')[0], 'no-such-session']) {
        const res = await http(sut.baseUrl, 'DELETE', `/auth/sessions/${jti}`, {
          token: alice.token,
        });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ detail: 'session not found', code: expect.any(String) });
      }
      expect((await refresh(sut.baseUrl, bob.refresh)).status).toBe(200);
    });

    it('needs a token', async () => {
      expect401(await http(sut.baseUrl, 'GET', '/auth/sessions'), 'Not authenticated');
      expect401(await http(sut.baseUrl, 'DELETE', '/auth/sessions/x'), 'Not authenticated');
    });
  });
});
