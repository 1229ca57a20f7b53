import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { TestApp, TEST_ADMIN, TEST_JWT_SECRET } from '../support/app';
import { http, HttpResult, login } from '../support/http';
import { BackendName, Storage, unique } from '../support/storage';

export { BACKENDS, unique } from '../support/storage';
export type Backend = BackendName;

/** Limits off unless a test turns them on: these suites log in far more than 10 times a minute. */
export const NO_LIMITS = {
  'limits.login_per_minute': 0,
  'limits.login_per_ip_per_minute': 0,
  'limits.refresh_per_minute': 0,
};

/**
 * Starts relay instances on one backend. For Valkey, one private server per `Cluster`; every
 * instance gets its own key prefix unless told to share one (multi-instance tests).
 */
export class Cluster {
  private readonly storage: Storage;
  private readonly apps: TestApp[] = [];

  constructor(readonly backend: Backend) {
    this.storage = new Storage(backend);
  }

  async start(
    overrides: Record<string, unknown> = {},
    options: { keyPrefix?: string } = {},
  ): Promise<TestApp> {
    const prefix =
      this.backend === 'valkey'
        ? { 'valkey.key_prefix': options.keyPrefix ?? `${unique('relay')}:` }
        : {};
    const app = await this.storage.start({ ...NO_LIMITS, ...prefix, ...overrides });
    this.apps.push(app);
    return app;
  }

  async stop(): Promise<void> {
    for (const app of this.apps.splice(0)) await app.close();
    await this.storage.stop();
  }
}

export interface TestUser {
  userId: string;
  username: string;
  password: string;
  token: string;
  refresh: string;
}

export async function loginFull(
  baseUrl: string,
  username: string,
  password: string,
): Promise<{ token: string; refresh: string }> {
  const res = await http(baseUrl, 'POST', '/auth/login', { form: { username, password } });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${res.text}`);
  return { token: res.body.access_token, refresh: res.body.refresh_token };
}

export function adminLogin(baseUrl: string): Promise<string> {
  return login(baseUrl, TEST_ADMIN.username, TEST_ADMIN.password);
}

/** Registers a user through `POST /auth/register` and logs it in. */
export async function registerUser(
  baseUrl: string,
  adminToken: string,
  permissions: Array<'read' | 'write' | 'admin'> = ['read', 'write'],
): Promise<TestUser> {
  const username = unique('user');
  const password = 'password-123456';
  const res = await http(baseUrl, 'POST', '/auth/register', {
    token: adminToken,
    body: { username, password, permissions },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
  return {
    userId: res.body.user_id,
    username,
    password,
    ...(await loginFull(baseUrl, username, password)),
  };
}

export function me(baseUrl: string, token: string): Promise<HttpResult> {
  return http(baseUrl, 'GET', '/auth/me', { token });
}

export function refresh(baseUrl: string, refreshToken: string): Promise<HttpResult> {
  return http(baseUrl, 'POST', '/auth/token/refresh', { body: { refresh_token: refreshToken } });
}

/** 401 with the bearer challenge and the given detail. */
export function expect401(res: HttpResult, detail: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 401,
    body: { detail, code: expect.any(String) },
  });
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
}

// ---- hand-made JWTs for the negative cases -----------------------------------------------

const b64url = (value: object | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

export function decodeJwt(token: string): { header: any; payload: any } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

export function hsJwt(
  payload: object,
  options: { secret?: string; alg?: 'HS256' | 'HS384' | 'HS512' } = {},
): string {
  const alg = options.alg ?? 'HS256';
  const head = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`;
  const hmac = createHmac(`sha${alg.slice(2)}`, options.secret ?? TEST_JWT_SECRET);
  return `${head}.${b64url(hmac.update(head).digest())}`;
}

export function noneJwt(payload: object): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
}

export function rsJwt(payload: object): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}`;
  return `${head}.${b64url(sign('sha256', Buffer.from(head), privateKey))}`;
}

/** Claims as the relay issues them, for `user`, valid for an hour. */
export function claims(user: { userId: string; username: string }): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: user.userId,
    username: user.username,
    permissions: ['read', 'write'],
    iat: now,
    exp: now + 3600,
    jti: unique('jti').replace(/_/g, ''),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
