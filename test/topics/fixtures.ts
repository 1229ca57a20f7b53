import { TestApp } from '../support/app';
import { http, HttpResult, login } from '../support/http';
import { Storage, StorageKind, unique } from '../support/storage';
import { UsersService } from '../../src/users/users.service';
import { ControlEvent, MessageBus } from '../../src/storage/ports';

export { BACKENDS, unique } from '../support/storage';
export type Backend = StorageKind;

export interface Harness extends TestApp {
  backend: Backend;
  /** Control events seen by this instance's bus (topic-deleted, topic-access-changed, ...). */
  events: ControlEvent[];
}

/**
 * Boots the app on `backend`; for Valkey also a private server (or a 3-master cluster), stopped
 * by `close()`.
 */
export async function bootApp(
  backend: Backend,
  overrides: Record<string, unknown> = {},
): Promise<Harness> {
  const storage = new Storage(backend);
  let app: TestApp;
  try {
    app = await storage.start(overrides);
  } catch (error) {
    await storage.stop();
    throw error;
  }
  const events: ControlEvent[] = [];
  app.app.get(MessageBus).onControl((event) => events.push(event));
  return {
    ...app,
    backend,
    events,
    async close() {
      await app.close();
      await storage.stop();
    },
  };
}

export interface TestUser {
  userId: string;
  username: string;
  token: string;
}

/** Creates a user straight through `UsersService` (no dependency on the admin API) and logs in. */
export async function makeUser(
  h: TestApp,
  permissions: Array<'read' | 'write' | 'admin'>,
): Promise<TestUser> {
  const username = unique('u');
  const password = 'password-123456';
  const user = await h.app.get(UsersService).create({ username, password, permissions });
  return { userId: user.userId, username, token: await login(h.baseUrl, username, password) };
}

export async function createTopic(
  h: TestApp,
  owner: TestUser,
  body: Record<string, unknown> = {},
): Promise<string> {
  const name = (body.topic_name as string | undefined) ?? unique('t');
  const res = await http(h.baseUrl, 'POST', '/api/v1/topics', {
    token: owner.token,
    body: { topic_name: name, ...body },
  });
  if (res.status !== 201) throw new Error(`create topic: ${res.status} ${res.text}`);
  return name;
}

export async function publish(
  h: TestApp,
  user: TestUser,
  topic: string,
  payload: Record<string, unknown> = { n: 1 },
  extra: Record<string, unknown> = {},
): Promise<HttpResult> {
  return http(h.baseUrl, 'POST', '/api/v1/messages', {
    token: user.token,
    body: { topic, payload, ...extra },
  });
}

export async function grant(
  h: TestApp,
  owner: TestUser,
  topic: string,
  target: TestUser,
  permissions: Array<'read' | 'write'> = ['read'],
): Promise<void> {
  const res = await http(h.baseUrl, 'POST', `/api/v1/topics/${topic}/permissions`, {
    token: owner.token,
    body: { user_id: target.userId, permissions },
  });
  if (res.status !== 201) throw new Error(`grant: ${res.status} ${res.text}`);
}
