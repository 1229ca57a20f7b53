import { startApp, TestApp } from '../support/app';
import { createUser } from '../support/http';
import { isContractError, isRefusal, rawRequest, tryConnectWs } from '../support/clients';

const ALLOWED_ORIGIN = 'https://app.example.com';
const EVIL_ORIGIN = 'https://evil.example.net';

/** CORS allow-list (HTTP and the WebSocket Origin check) and trusted Host headers. */
describe('CORS and trusted hosts', () => {
  let sut: TestApp;
  let port: string;
  let token: string;

  beforeAll(async () => {
    sut = await startApp({
      overrides: {
        'server.allowed_origins': [ALLOWED_ORIGIN],
        'server.trusted_hosts': [
          '127.0.0.1',
          'localhost',
          'relay.example.com',
          '*.internal.example',
        ],
        'limits.login_per_minute': 0,
        'limits.login_per_ip_per_minute': 0,
      },
    });
    port = new URL(sut.baseUrl).port;
    token = (await createUser(sut.baseUrl, ['read', 'write'])).token;
  });
  afterAll(() => sut.close());

  const preflight = (origin: string, method: string, headers: string) =>
    rawRequest(sut.baseUrl, {
      method: 'OPTIONS',
      path: '/api/v1/messages',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': headers,
      },
    });

  it('allows every method and header the API uses to an allowed origin, without credentials', async () => {
    const res = await preflight(
      ALLOWED_ORIGIN,
      'PATCH',
      'authorization,content-type,idempotency-key',
    );
    expect(res.status).toBeLessThan(300);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/PATCH/);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toMatch(
      /idempotency-key/,
    );
    expect(res.headers['access-control-allow-credentials']).not.toBe('true');
    expect(String(res.headers['access-control-allow-origin'])).not.toBe('*');
  });

  it('gives a disallowed origin no CORS grant (preflight and simple request)', async () => {
    const pre = await preflight(EVIL_ORIGIN, 'POST', 'authorization,content-type');
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    expect(pre.status).toBeLessThan(500);
    const simple = await rawRequest(sut.baseUrl, {
      method: 'GET',
      path: '/api/v1/topics',
      headers: { origin: EVIL_ORIGIN, authorization: `Bearer ${token}` },
    });
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    // `null` origins (sandboxed frames, file://) are not special-cased into a grant.
    const nullOrigin = await preflight('null', 'POST', 'authorization');
    expect(nullOrigin.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([
    ['relay.example.com', true],
    ['relay.example.com:443', true],
    ['a.internal.example', true],
    ['RELAY.EXAMPLE.COM', true],
    ['evil.example.net', false],
    ['relay.example.com.evil.net', false],
    ['internal.example.evil.net', false],
    ['127.0.0.2', false],
  ])('Host %s → allowed: %s', async (host, allowed) => {
    const res = await rawRequest(sut.baseUrl, {
      method: 'GET',
      path: '/api/v1/topics',
      headers: { host, authorization: `Bearer ${token}` },
    });
    if (allowed) {
      expect(res.status).toBe(200);
    } else {
      expect(res.status).toBe(400);
      expect(isContractError(res.status, res.body)).toBe(true);
    }
  });

  it('applies the Host check to login, unknown routes and the WebSocket upgrade too', async () => {
    // Probes (/health, /ready, /metrics) are exempt by design: kubelet sends the pod IP as Host.
    const unknown = await rawRequest(sut.baseUrl, {
      method: 'GET',
      path: '/no/such/route',
      headers: { host: 'evil.example.net' },
    });
    expect(unknown.status).toBe(400);
    const loginRes = await rawRequest(sut.baseUrl, {
      method: 'POST',
      path: '/auth/login',
      headers: { host: 'evil.example.net', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=admin&password=x',
    });
    expect(loginRes.status).toBe(400);
    const ws = await tryConnectWs(sut.wsUrl, {
      token,
      headers: { host: `evil.example.net:${port}` },
    });
    if (!isRefusal(ws)) {
      ws.terminate();
      throw new Error('WebSocket upgrade accepted an untrusted Host');
    }
    expect(ws.status).toBe(400);
  });

  it('checks the WebSocket Origin against the allow-list (absent Origin is fine)', async () => {
    const evil = await tryConnectWs(sut.wsUrl, { token, headers: { origin: EVIL_ORIGIN } });
    if (!isRefusal(evil)) {
      evil.terminate();
      throw new Error('WebSocket upgrade accepted a disallowed Origin');
    }
    expect(evil.status).toBe(403);
    for (const headers of [{ origin: ALLOWED_ORIGIN }, {}] as Array<Record<string, string>>) {
      const ok = await tryConnectWs(sut.wsUrl, { token, headers });
      expect(isRefusal(ok)).toBe(false);
      if (!isRefusal(ok)) await ok.close();
    }
  });
});
