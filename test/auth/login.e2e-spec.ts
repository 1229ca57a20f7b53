import { TestApp, TEST_ADMIN, TEST_JWT_SECRET } from '../support/app';
import { http } from '../support/http';
import {
  adminLogin,
  BACKENDS,
  claims,
  Cluster,
  decodeJwt,
  expect401,
  hsJwt,
  me,
  noneJwt,
  registerUser,
  rsJwt,
  TestUser,
  unique,
} from './auth-fixtures';

const REFRESH_TOKEN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

describe.each(BACKENDS)('login and access tokens (%s)', (backend) => {
  const cluster = new Cluster(backend);
  let sut: TestApp;
  let admin: string;
  let alice: TestUser;

  beforeAll(async () => {
    sut = await cluster.start();
    admin = await adminLogin(sut.baseUrl);
    alice = await registerUser(sut.baseUrl, admin, ['read', 'write']);
  });
  afterAll(() => cluster.stop());

  describe('POST /auth/login', () => {
    it('accepts the OAuth2 password form and answers the token response', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: alice.username, password: alice.password, grant_type: 'password' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: 3600,
        refresh_token: expect.stringMatching(REFRESH_TOKEN),
        refresh_token_secondary: null,
      });
      expect(res.body.expires_in).toBeGreaterThan(300);
    });

    it('accepts a JSON body with the same fields', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        body: { username: alice.username, password: alice.password },
      });
      expect(res.status).toBe(200);
      expect(res.body.refresh_token).toMatch(REFRESH_TOKEN);
    });

    it('issues an HS256 JWT with sub, username, permissions, iat, exp and jti', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: alice.username, password: alice.password },
      });
      const { header, payload } = decodeJwt(res.body.access_token);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(payload).toEqual({
        sub: alice.userId,
        username: alice.username,
        permissions: ['read', 'write'],
        iat: expect.any(Number),
        exp: expect.any(Number),
        jti: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      expect(payload.exp - payload.iat).toBe(3600);
      expect(Math.abs(payload.iat - Date.now() / 1000)).toBeLessThan(10);
    });

    it('gives every login a distinct access and refresh token', async () => {
      const form = { username: alice.username, password: alice.password };
      const [a, b] = await Promise.all([
        http(sut.baseUrl, 'POST', '/auth/login', { form }),
        http(sut.baseUrl, 'POST', '/auth/login', { form }),
      ]);
      expect(a.body.access_token).not.toBe(b.body.access_token);
      expect(a.body.refresh_token).not.toBe(b.body.refresh_token);
    });

    it('refuses a wrong password with 401 and the Bearer challenge', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: alice.username, password: 'wrong-password' },
      });
      expect401(res, 'Incorrect username or password');
    });

    it('answers an unknown user exactly like a wrong password', async () => {
      const wrong = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: alice.username, password: 'wrong-password' },
      });
      const unknown = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: unique('nobody'), password: 'wrong-password' },
      });
      expect401(unknown, 'Incorrect username or password');
      expect(unknown.body).toEqual(wrong.body);
    });

    it('refuses a grant_type other than password with 422', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: {
          username: alice.username,
          password: alice.password,
          grant_type: 'client_credentials',
        },
      });
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([
        { loc: ['body', 'grant_type'], msg: expect.any(String), type: 'string_pattern_mismatch' },
      ]);
    });

    it('refuses a missing password with the 422 list', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: alice.username },
      });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }],
        code: 'VALIDATION_ERROR',
      });
    });

    it('refuses an inactive user with 403 even with the right password', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      await http(sut.baseUrl, 'PATCH', `/auth/users/${bob.userId}`, {
        token: admin,
        body: { is_active: false },
      });
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: bob.username, password: bob.password },
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: 'User account is inactive', code: 'USER_INACTIVE' });
      const wrong = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: bob.username, password: 'wrong-password' },
      });
      expect401(wrong, 'Incorrect username or password');
    });
  });

  describe('GET /auth/me', () => {
    it('answers the UserPublic of the bearer', async () => {
      const res = await me(sut.baseUrl, alice.token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        user_id: alice.userId,
        username: alice.username,
        email: null,
        is_active: true,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/),
        permissions: ['read', 'write'],
        owned_topics: [],
      });
    });

    it('refuses a request without a token with 401 Not authenticated', async () => {
      expect401(await http(sut.baseUrl, 'GET', '/auth/me'), 'Not authenticated');
    });

    it('refuses a non-Bearer Authorization header with 401', async () => {
      const res = await http(sut.baseUrl, 'GET', '/auth/me', {
        headers: { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` },
      });
      expect401(res, 'Not authenticated');
    });
  });

  describe('token verification', () => {
    const forged: Array<[string, (user: TestUser) => string]> = [
      ['expired', (u) => hsJwt({ ...claims(u), iat: 1_700_000_000, exp: 1_700_000_060 })],
      [
        'expired a second ago',
        (u) => hsJwt({ ...claims(u), exp: Math.floor(Date.now() / 1000) - 1 }),
      ],
      ['signed with another secret', (u) => hsJwt(claims(u), { secret: 'x'.repeat(64) })],
      ['alg none', (u) => noneJwt(claims(u))],
      ['alg none with a signature', (u) => `${noneJwt(claims(u))}c2lnbmF0dXJl`],
      ['HS512 with the right secret', (u) => hsJwt(claims(u), { alg: 'HS512' })],
      ['RS256 (HS/RS confusion)', (u) => rsJwt(claims(u))],
      [
        'issued in the future',
        (u) => hsJwt({ ...claims(u), iat: Math.floor(Date.now() / 1000) + 600 }),
      ],
      ['exp as a string', (u) => hsJwt({ ...claims(u), exp: String(Date.now() + 3600) })],
      ['garbage', () => 'not.a.jwt'],
      ['two segments', () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0'],
      ...(['sub', 'username', 'permissions', 'iat', 'exp', 'jti'] as const).map(
        (claim): [string, (u: TestUser) => string] => [
          `missing ${claim}`,
          (u) => {
            const c = claims(u);
            delete c[claim];
            return hsJwt(c);
          },
        ],
      ),
    ];

    it.each(forged)('refuses a token %s with 401', async (_name, make) => {
      const res = await me(sut.baseUrl, make(alice));
      expect401(res, 'Invalid or expired token');
    });

    it('refuses a tampered payload (signature of the original) with 401', async () => {
      const [header, , signature] = alice.token.split('.');
      const payload = decodeJwt(alice.token).payload;
      const elevated = Buffer.from(
        JSON.stringify({ ...payload, permissions: ['admin', 'read', 'write'] }),
      ).toString('base64url');
      expect401(
        await me(sut.baseUrl, `${header}.${elevated}.${signature}`),
        'Invalid or expired token',
      );
    });

    it('refuses a tampered signature with 401', async () => {
      const last = alice.token.at(-2) === 'A' ? 'B' : 'A';
      const tampered = `${alice.token.slice(0, -2)}${last}${alice.token.at(-1)}`;
      expect401(await me(sut.baseUrl, tampered), 'Invalid or expired token');
    });

    it('accepts a token it did not issue but signed with its secret (the control case)', async () => {
      expect(TEST_JWT_SECRET.length).toBeGreaterThanOrEqual(32);
      const res = await me(sut.baseUrl, hsJwt(claims(alice)));
      expect(res.status).toBe(200);
    });

    it('ignores the permissions claim: an elevated claim signed correctly grants nothing', async () => {
      const token = hsJwt({ ...claims(alice), permissions: ['admin'] });
      const res = await http(sut.baseUrl, 'GET', '/auth/users', { token });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: "Permission 'admin' required",
        code: 'PERMISSION_DENIED',
      });
    });

    it('refuses a valid token of a user that does not exist with 401 User not found', async () => {
      const token = hsJwt(
        claims({ userId: '00000000-0000-4000-8000-000000000000', username: 'x' }),
      );
      expect401(await me(sut.baseUrl, token), 'User not found');
    });
  });

  describe('routes outside this version', () => {
    it.each([
      ['POST', '/auth/device/code'],
      ['POST', '/auth/device/token'],
      ['GET', '/auth/device'],
      ['POST', '/auth/device/deny'],
      ['GET', '/auth/oidc/providers'],
      ['GET', '/auth/oidc/keycloak/login'],
      ['GET', '/auth/oidc/keycloak/callback'],
      ['POST', '/auth/token'],
    ])('%s %s answers 404 (no route)', async (method, path) => {
      const res = await http(sut.baseUrl, method, path, { token: admin });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
    });
  });

  describe('OpenAPI', () => {
    it('documents every auth route with its tag, summary, responses and security', async () => {
      const doc = (await http(sut.baseUrl, 'GET', '/openapi.json')).body;
      const routes: Array<[string, string, boolean]> = [
        ['/auth/login', 'post', false],
        ['/auth/logout', 'post', true],
        ['/auth/me', 'get', true],
        ['/auth/register', 'post', true],
        ['/auth/users', 'get', true],
        ['/auth/users/stats', 'get', true],
        ['/auth/users/{user_id}', 'patch', true],
        ['/auth/users/{user_id}', 'delete', true],
        ['/auth/token/refresh', 'post', false],
        ['/auth/token/revoke', 'post', false],
        ['/auth/sessions', 'get', true],
        ['/auth/sessions/{jti}', 'delete', true],
      ];
      for (const [path, method, secured] of routes) {
        const op = doc.paths[path]?.[method];
        expect({ path, method, summary: op?.summary }).toEqual({
          path,
          method,
          summary: expect.any(String),
        });
        expect(op.tags.length).toBeGreaterThan(0);
        const success = Object.keys(op.responses).filter((s) => s.startsWith('2'));
        expect(success.length).toBeGreaterThan(0);
        expect(Boolean(op.security?.some((s: object) => 'bearer' in s))).toBe(secured);
      }
      expect(doc.components.schemas.TokenResponseDto.properties).toHaveProperty('refresh_token');
      expect(doc.components.schemas.UserPublicDto.properties).toHaveProperty('owned_topics');
      expect(doc.paths['/auth/login'].post.requestBody.content).toHaveProperty(
        'application/x-www-form-urlencoded',
      );
    });
  });
});

describe.each(BACKENDS)('login rate limits (%s)', (backend) => {
  const cluster = new Cluster(backend);
  afterAll(() => cluster.stop());

  it('limits logins per (IP, username) with 429 and Retry-After, other usernames unaffected', async () => {
    const sut = await cluster.start({ 'limits.login_per_minute': 3 });
    const form = { username: TEST_ADMIN.username, password: 'wrong-password' };
    for (let i = 0; i < 3; i++) {
      expect((await http(sut.baseUrl, 'POST', '/auth/login', { form })).status).toBe(401);
    }
    const limited = await http(sut.baseUrl, 'POST', '/auth/login', {
      form: { username: TEST_ADMIN.username, password: TEST_ADMIN.password },
    });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({
      detail: 'Rate limit exceeded: 3 per 1 minute',
      code: 'RATE_LIMITED',
    });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const other = await http(sut.baseUrl, 'POST', '/auth/login', {
      form: { username: unique('other'), password: 'wrong-password' },
    });
    expect(other.status).toBe(401);
  });

  it('limits logins per IP across usernames', async () => {
    const sut = await cluster.start({ 'limits.login_per_ip_per_minute': 4 });
    for (let i = 0; i < 4; i++) {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: unique('spray'), password: 'wrong-password' },
      });
      expect(res.status).toBe(401);
    }
    const res = await http(sut.baseUrl, 'POST', '/auth/login', {
      form: { username: unique('spray'), password: 'wrong-password' },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('limits token refreshes per IP', async () => {
    const sut = await cluster.start({ 'limits.refresh_per_minute': 2 });
    const body = { refresh_token: 'unknown.token' };
    for (let i = 0; i < 2; i++) {
      const res = await http(sut.baseUrl, 'POST', '/auth/token/refresh', { body });
      expect(res.status).toBe(401);
    }
    const res = await http(sut.baseUrl, 'POST', '/auth/token/refresh', { body });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('uses 10 per minute per (IP, username) by default', async () => {
    const sut = await cluster.start({
      'limits.login_per_minute': 10,
      'limits.login_per_ip_per_minute': 300,
    });
    expect(sut.config.limits.loginPerMinute).toBe(10);
    const form = { username: unique('victim'), password: 'wrong-password' };
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push((await http(sut.baseUrl, 'POST', '/auth/login', { form })).status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  if (backend === 'valkey') {
    it('shares the counters between instances on one Valkey', async () => {
      const prefix = `${unique('shared')}:`;
      const overrides = { 'limits.login_per_minute': 2 };
      const a = await cluster.start(overrides, { keyPrefix: prefix });
      const b = await cluster.start(overrides, { keyPrefix: prefix });
      const form = { username: unique('shared'), password: 'wrong-password' };
      expect((await http(a.baseUrl, 'POST', '/auth/login', { form })).status).toBe(401);
      expect((await http(b.baseUrl, 'POST', '/auth/login', { form })).status).toBe(401);
      expect((await http(a.baseUrl, 'POST', '/auth/login', { form })).status).toBe(429);
      expect((await http(b.baseUrl, 'POST', '/auth/login', { form })).status).toBe(429);
    });
  }
});

describe('access token lifetime', () => {
  it('defaults to 60 minutes (expires_in 3600 > 300)', async () => {
    const cluster = new Cluster('memory');
    try {
      const sut = await cluster.start();
      expect(sut.config.auth.accessTokenExpireMinutes).toBe(60);
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: TEST_ADMIN.username, password: TEST_ADMIN.password },
      });
      expect(res.body.expires_in).toBe(3600);
    } finally {
      await cluster.stop();
    }
  });
});
