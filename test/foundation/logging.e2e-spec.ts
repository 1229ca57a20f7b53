import { executionAsyncId } from 'node:async_hooks';
import { startApp, TestApp } from '../support/app';
import { adminToken, http } from '../support/http';

/**
 * After an `await`, `executionAsyncId()` is 0 unless promise hooks are on (an
 * `AsyncLocalStorage` that has been entered turns them on for the whole process, and then
 * every promise pays for them).
 */
async function promiseHooksOn(): Promise<boolean> {
  await Promise.resolve();
  return executionAsyncId() !== 0;
}

describe('request ids and request logging', () => {
  let sut: TestApp;
  let hooksBefore: boolean;

  beforeAll(async () => {
    hooksBefore = await promiseHooksOn();
    sut = await startApp({ overrides: { 'server.max_body_bytes': 4096 } });
  });
  afterAll(() => sut.close());

  it('gives every answer through Express a request id, body errors included', async () => {
    const cases = [
      await http(sut.baseUrl, 'GET', '/health'),
      await http(sut.baseUrl, 'POST', '/auth/login', { body: '{bad' }),
      await http(sut.baseUrl, 'POST', '/auth/login', { body: 'x'.repeat(5000) }),
      await http(sut.baseUrl, 'GET', '/no/such/route'),
    ];
    expect(cases.map((r) => r.status)).toEqual([200, 422, 413, 404]);
    for (const res of cases) {
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("echoes a caller's well-formed X-Request-Id and replaces a malformed one", async () => {
    const given = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: '{bad',
      headers: { 'x-request-id': 'job-42.attempt_1' },
    });
    expect(given.headers.get('x-request-id')).toBe('job-42.attempt_1');
    const malformed = await http(sut.baseUrl, 'GET', '/health', {
      headers: { 'x-request-id': 'has spaces and; semicolons' },
    });
    expect(malformed.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves requests without turning promise hooks on (no per-request AsyncLocalStorage)', async () => {
    expect(hooksBefore).toBe(false);
    const token = await adminToken(sut.baseUrl);
    // Through Express (login, topic creation) and through the publish fast path.
    await http(sut.baseUrl, 'POST', '/api/v1/topics', { token, body: { topic_name: 'log-t' } });
    const published = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token,
      body: { topic: 'log-t', payload: { n: 1 } },
    });
    expect(published.status).toBe(201);
    expect(await promiseHooksOn()).toBe(false);
  });
});
