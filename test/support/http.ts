import { TEST_ADMIN } from './app';

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A small fetch wrapper: JSON in, JSON (or text) out, never throws on 4xx/5xx. */
export async function http<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    form?: Record<string, string>;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export async function login(baseUrl: string, username: string, password: string): Promise<string> {
  const res = await http(baseUrl, 'POST', '/auth/login', { form: { username, password } });
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${res.text}`);
  return res.body.access_token as string;
}

export function adminToken(baseUrl: string): Promise<string> {
  return login(baseUrl, TEST_ADMIN.username, TEST_ADMIN.password);
}

let userSeq = 0;
const adminTokens = new Map<string, Promise<string>>();

/** Registers a user through the admin API and logs in; returns its id, name and token. */
export async function createUser(
  baseUrl: string,
  permissions: Array<'read' | 'write' | 'admin'> = ['read', 'write'],
  name?: string,
): Promise<{ userId: string; username: string; password: string; token: string }> {
  const username = name ?? `user${process.pid}x${++userSeq}x${Date.now() % 100000}`;
  const password = 'password-123456';
  const register = async (token: string) =>
    http(baseUrl, 'POST', '/auth/register', { token, body: { username, password, permissions } });
  // One admin login per app, not per user: the login rate limit would otherwise bite.
  let cached = adminTokens.get(baseUrl);
  if (!cached) adminTokens.set(baseUrl, (cached = adminToken(baseUrl)));
  let res = await register(await cached);
  if (res.status === 401) {
    const fresh = adminToken(baseUrl);
    adminTokens.set(baseUrl, fresh);
    res = await register(await fresh);
  }
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return {
    userId: res.body.user_id,
    username,
    password,
    token: await login(baseUrl, username, password),
  };
}
