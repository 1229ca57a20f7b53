import { register } from 'prom-client';
import { TestApp } from '../../support/app';
import { http, HttpResult, login } from '../../support/http';
import { unique } from '../../support/storage';
import { UsersService } from '../../../src/users/users.service';

export { BACKENDS, BackendName, Storage, unique } from '../../support/storage';

export interface TestUser {
  userId: string;
  username: string;
  password: string;
  token: string;
}

/** Creates a user through `UsersService` (works on any instance sharing storage) and logs in. */
export async function makeUser(
  app: TestApp,
  permissions: Array<'read' | 'write' | 'admin'> = ['read', 'write'],
): Promise<TestUser> {
  const username = unique('u');
  const password = 'password-123456';
  const user = await app.app.get(UsersService).create({ username, password, permissions });
  return {
    userId: user.userId,
    username,
    password,
    token: await login(app.baseUrl, username, password),
  };
}

export async function createTopic(
  app: TestApp,
  token: string,
  isPublic = false,
  name = unique('t'),
): Promise<string> {
  const res = await http(app.baseUrl, 'POST', '/api/v1/topics', {
    token,
    body: { topic_name: name, is_public: isPublic },
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`create topic failed: ${res.status} ${res.text}`);
  }
  return name;
}

export async function publish(
  app: TestApp,
  token: string,
  topic: string,
  payload: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await http(app.baseUrl, 'POST', '/api/v1/messages', {
    token,
    body: { topic, payload, ...extra },
  });
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${res.text}`);
  return res.body.message_id as string;
}

/** Publishes `count` messages one after another (a tight loop); returns their ids in order. */
export async function publishMany(
  app: TestApp,
  token: string,
  topic: string,
  count: number,
  start = 0,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(await publish(app, token, topic, { n: start + i }));
  return ids;
}

export async function grant(
  app: TestApp,
  ownerToken: string,
  topic: string,
  userId: string,
  permissions: Array<'read' | 'write'> = ['read'],
): Promise<void> {
  const res = await http(app.baseUrl, 'POST', `/api/v1/topics/${topic}/permissions`, {
    token: ownerToken,
    body: { user_id: userId, permissions },
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`grant failed: ${res.status} ${res.text}`);
  }
}

export function poll(
  app: TestApp,
  token: string,
  body: Record<string, unknown>,
): Promise<HttpResult> {
  return http(app.baseUrl, 'POST', '/messages/poll', { token, body });
}

export async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))
    .reduce((sum, v) => sum + v.value, 0);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds (polling), or fails after `timeoutMs`. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
