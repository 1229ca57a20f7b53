import { startApp, TestApp } from '../support/app';
import { http } from '../support/http';
import { rawRequest } from '../support/clients';

describe('error shapes and operations endpoints', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startApp({ overrides: { 'server.max_body_bytes': 4096 } });
  });
  afterAll(() => sut.close());

  it('answers an unknown route with 404 JSON', async () => {
    const res = await http(sut.baseUrl, 'GET', '/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
  });

  it('answers a known route with the wrong method with 405 JSON and Allow', async () => {
    const res = await http(sut.baseUrl, 'DELETE', '/health');
    expect(res.status).toBe(405);
    expect(res.body).toEqual({ detail: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' });
    expect(res.headers.get('allow')).toContain('GET');
  });

  it('answers malformed JSON with a 422 list, never 500', async () => {
    for (const body of ['{bad', '{"a":', '\u0000', 'nul', '{"username": "x" "password": 1}']) {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', { body });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }],
        code: 'VALIDATION_ERROR',
      });
    }
  });

  it('answers class-validator failures with the 422 list form (loc, msg, type)', async () => {
    const res = await http(sut.baseUrl, 'POST', '/auth/login', { body: { username: 5 } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('VALIDATION_ERROR');
    expect(res.body.detail).toEqual(
      expect.arrayContaining([
        { loc: ['body', 'username'], msg: expect.any(String), type: 'string_type' },
        { loc: ['body', 'password'], msg: 'Field required', type: 'missing' },
      ]),
    );
  });

  it('answers a JSON array or scalar where an object is expected with 422', async () => {
    for (const body of ['[1,2]', '"text"', '42']) {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', { body });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('VALIDATION_ERROR');
    }
  });

  it('answers a body over max_body_bytes with 413, by Content-Length', async () => {
    const res = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: JSON.stringify({ username: 'a', password: 'x'.repeat(8000) }),
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ detail: expect.any(String), code: 'PAYLOAD_TOO_LARGE' });
  });

  it('answers a chunked body over max_body_bytes with 413', async () => {
    const res = await rawRequest(sut.baseUrl, {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: [
        Buffer.from('{"username":"a","password":"'),
        Buffer.alloc(6000, 'x'),
        Buffer.from('"}'),
      ],
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers an unsupported charset with 415 JSON', async () => {
    const res = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: '{}',
      headers: { 'content-type': 'application/json; charset=klingon' },
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('serves /health with the package version, and a request id', async () => {
    const res = await http(sut.baseUrl, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'healthy',
      timestamp: expect.stringMatching(/Z$/),
      version: '0.3.0',
    });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves /ready 200 with the memory backend', async () => {
    const res = await http(sut.baseUrl, 'GET', '/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ready: true, checks: { storage: 'ok' } });
  });

  it('serves Swagger UI at /docs and the OpenAPI document at /openapi.json', async () => {
    const ui = await http(sut.baseUrl, 'GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const doc = await http(sut.baseUrl, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/auth/login']).toBeDefined();
    expect(doc.body.components.securitySchemes.bearer).toBeDefined();
  });

  it('serves Prometheus text at /metrics with process, HTTP and relay metrics', async () => {
    await http(sut.baseUrl, 'GET', '/health');
    const res = await http(sut.baseUrl, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toContain('process_cpu_seconds_total');
    expect(res.text).toMatch(
      /http_requests_total\{method="GET",route="\/health",status_code="200"\} \d+/,
    );
    expect(res.text).toContain('relay_storage_up 1');
  });
});

describe('host and origin checks', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startApp({
      overrides: {
        'server.trusted_hosts': ['127.0.0.1', '*.example.com'],
        'server.allowed_origins': ['https://app.example.com'],
      },
    });
  });
  afterAll(() => sut.close());

  it('rejects an untrusted Host header with 400 JSON', async () => {
    const bad = await rawRequest(sut.baseUrl, {
      method: 'GET',
      path: '/auth/me',
      headers: { host: 'evil.test' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ detail: 'Invalid host header', code: 'INVALID_HOST' });
    const ok = await rawRequest(sut.baseUrl, {
      method: 'GET',
      path: '/auth/me',
      headers: { host: 'relay.example.com' },
    });
    expect(ok.status).toBe(401);
  });

  it('allows listed origins (PATCH and Idempotency-Key included) and no others', async () => {
    const preflight = (origin: string) =>
      rawRequest(sut.baseUrl, {
        method: 'OPTIONS',
        path: '/api/v1/messages',
        headers: {
          origin,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization,idempotency-key',
        },
      });
    const allowed = await preflight('https://app.example.com');
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(allowed.headers['access-control-allow-methods'])).toContain('PATCH');
    expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain(
      'idempotency-key',
    );
    const denied = await preflight('https://evil.test');
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('host check exemptions', () => {
  it('serves /health, /ready and /metrics to probes whatever their Host header', async () => {
    const sut = await startApp({ overrides: { 'server.trusted_hosts': ['relay.example.com'] } });
    try {
      for (const path of ['/health', '/ready', '/metrics']) {
        const res = await rawRequest(sut.baseUrl, {
          method: 'GET',
          path,
          headers: { host: '10.1.2.3:8080' },
        });
        expect(res.status).toBe(200);
      }
      const api = await rawRequest(sut.baseUrl, {
        method: 'GET',
        path: '/auth/me',
        headers: { host: '10.1.2.3:8080' },
      });
      expect(api.status).toBe(400);
    } finally {
      await sut.close();
    }
  });
});

describe('deeply nested bodies', () => {
  it('answers 422, not a stack overflow 500', async () => {
    const sut = await startApp();
    try {
      const deep = '['.repeat(5000) + ']'.repeat(5000);
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        body: `{"username":${deep},"password":"x"}`,
      });
      expect(res.status).toBe(422);
      expect(res.body.detail[0]).toEqual({
        loc: ['body'],
        msg: 'Input is nested too deeply',
        type: 'value_error',
      });
    } finally {
      await sut.close();
    }
  });
});
