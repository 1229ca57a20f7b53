import fc from 'fast-check';
import { adminToken, createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { isContractError, rawRequest, RawResponse, SOAK, uniqueTopic } from '../support/clients';

/**
 * Generated hostile input for every HTTP endpoint: malformed JSON, wrong types, boundary sizes,
 * huge arrays, deep nesting, invalid UTF-8, oversized headers, unknown fields, invalid ids and
 * cursors, bad Content-Type. Zero 5xx, every error in the contract shape, the process alive.
 * The relay runs as its own process so that a crash cannot hide inside the test runner.
 */

const SEED = Number(process.env.PULSAR_FUZZ_SEED ?? 20240611);
const RUNS_PER_ROUTE = Number(process.env.PULSAR_FUZZ_RUNS ?? (SOAK ? 400 : 60));
const MAX_MESSAGE = 4096;
const MAX_BODY = 256 * 1024;

type Auth = 'user' | 'admin' | 'none' | 'garbage';

interface Route {
  name: string;
  method: string;
  /** Path template; `{topic}`, `{id}` are filled with fuzz or real values. */
  path: (ctx: Ctx, rnd: PathParts) => string;
  auth: Auth;
  /** Valid-looking values per body field; the fuzz mixes them with hostile ones. */
  fields?: Record<string, fc.Arbitrary<unknown>>;
  query?: boolean;
  form?: boolean;
  /** A waiting long-poll may legitimately not answer within the client timeout. */
  mayWait?: boolean;
  /** Hand-written bodies sent as JSON in addition to the generated ones. */
  extraBodies?: string[];
}

interface Ctx {
  userToken: string;
  adminToken: string;
  ownedTopic: string;
  victimId: string;
}

interface PathParts {
  segment: string;
  query: string;
}

interface Case {
  route: string;
  method: string;
  path: string;
  headers: Record<string, string | number>;
  body?: Buffer;
  mayWait?: boolean;
}

const topicName = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const messageId = fc
  .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
  .map(([a, b]) => `${a}-${b}`);

/** Values of the wrong type or shape, and the classic troublemakers. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1.5,
    2 ** 53,
    1e308,
    '',
    ' ',
    '\u0000',
    '\ud800',
    'a'.repeat(10_000),
    [],
    {},
    { __proto__: { admin: true } },
    { constructor: { prototype: { polluted: true } } },
    ['read', 'admin', 'root'],
    '18446744073709551616-0',
    '-1-0',
    '1-',
    '../../etc/passwd',
    '$where',
    { $gt: '' },
  ),
);

const idArb: fc.Arbitrary<string> = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '0',
    '-1',
    'null',
    'undefined',
    '..',
    '%2e%2e',
    'a'.repeat(300),
    '%00',
    '%zz',
    '%E0%A4%A',
  ),
  messageId,
);

/** Encoded unless it is one of the raw (deliberately invalid) percent sequences. */
const segmentArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }).map((s) => encodeURIComponent(s) || 'x'),
  topicName,
  fc.constantFrom(
    '%zz',
    '%E0%A4%A',
    '%00',
    '%2F',
    'a%2Fb',
    '%2e%2e',
    'x'.repeat(256),
    'x'.repeat(255),
    '%C0%AF',
    '%FF',
  ),
);

const queryArb: fc.Arbitrary<string> = fc
  .record(
    {
      limit: fc.oneof(
        fc.integer().map(String),
        fc.string({ maxLength: 12 }),
        fc.constantFrom('1e309', 'NaN', '-0', '0', '101', '1.5', '99999999999999999999'),
      ),
      order: fc.oneof(fc.constantFrom('asc', 'desc', 'ASC', ''), fc.string({ maxLength: 10 })),
      cursor: fc.oneof(
        messageId,
        idArb,
        fc.constantFrom(
          '0-0',
          '18446744073709551616-0',
          '1-18446744073709551616',
          '01-01',
          ' 1-1',
          '1-1 ',
          '1--1',
          '1e3-0',
        ),
      ),
      offset: fc.string({ maxLength: 10 }),
      junk: fc.string({ maxLength: 20 }),
    },
    { requiredKeys: [] },
  )
  .map((q) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) params.append(k, v);
    // Repeated keys (arrays in Express' parser) as well.
    if (q.limit !== undefined && q.limit.length % 2 === 0) params.append('limit', '5');
    return params.toString();
  });

function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function bodyArb(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Buffer> {
  const mutated = fc.record(
    Object.fromEntries(
      Object.entries(fields).map(([k, valid]) => [
        k,
        fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: hostileValue }),
      ]),
    ),
    { requiredKeys: [] },
  );
  const withUnknown = fc
    .tuple(mutated, fc.dictionary(fc.string({ maxLength: 12 }), hostileValue, { maxKeys: 4 }))
    .map(([known, extra]) => ({ ...extra, ...known }));
  const fieldNames = Object.keys(fields);
  const first = fieldNames[0] ?? 'x';
  return fc.oneof(
    { weight: 6, arbitrary: withUnknown.map((o) => Buffer.from(JSON.stringify(o) ?? 'null')) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
    {
      weight: 2,
      arbitrary: withUnknown.chain((o) => {
        const text = JSON.stringify(o) ?? '{}';
        return fc
          .nat({ max: Math.max(0, text.length - 1) })
          .map((n) => Buffer.from(text.slice(0, n)));
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) =>
          Buffer.concat([
            Buffer.from(`{"${first}":"`),
            Buffer.from(bytes),
            Buffer.from([0xff, 0xfe, 0xc0, 0xaf]),
            Buffer.from('"}'),
          ]),
        ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(100, 1000, 10_000, 50_000),
          fc.constantFrom('array' as const, 'object' as const),
        )
        .map(([depth, kind]) => Buffer.from(`{"${first}":${deep(depth, kind)}}`)),
    },
    {
      // Deep nesting in any one field while the others are valid, so it gets past validation.
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.record(fields),
          fc.constantFrom(...(fieldNames.length ? fieldNames : ['x'])),
          fc.constantFrom(1000, 5000, 20_000),
          fc.constantFrom('array' as const, 'object' as const),
        )
        .map(([record, field, depth, kind]) => {
          const rest: Record<string, unknown> = { ...record };
          delete rest[field];
          const head = JSON.stringify(rest).slice(0, -1);
          return Buffer.from(
            `${head}${head.length > 1 ? ',' : ''}"${field}":${deep(depth, kind)}}`,
          );
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(10_000, 100_000)
        .map((n) => Buffer.from(`{"${first}":[${Array(n).fill('"a"').join(',')}]}`)),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from(''),
        Buffer.from('null'),
        Buffer.from('[]'),
        Buffer.from('"string"'),
        Buffer.from('1'),
        Buffer.from('{"a":1,"a":2}'),
        Buffer.from('{"__proto__":{"isAdmin":true}}'),
        Buffer.from('\ufeff{}'),
        Buffer.from(`{"${first}":"${'x'.repeat(MAX_BODY)}"}`),
      ),
    },
  );
}

const contentTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/xml',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/merge-patch+json',
      'APPLICATION/JSON',
      'application/octet-stream',
      'application/json, text/plain',
      ';;;',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,60}$/) },
);

const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,200}$/);

function routes(): Route[] {
  const perm = fc.array(fc.constantFrom('read', 'write', 'admin', 'root', ''), { maxLength: 4 });
  const message = fc.record({
    topic: topicName,
    payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 4,
    }),
  });
  return [
    {
      name: 'login',
      method: 'POST',
      path: () => '/auth/login',
      auth: 'none',
      form: true,
      fields: {
        username: fc.string({ maxLength: 60 }),
        password: fc.string({ maxLength: 60 }),
        grant_type: fc.constantFrom('password', 'client_credentials', ''),
      },
    },
    {
      name: 'logout',
      method: 'POST',
      path: () => '/auth/logout',
      auth: 'garbage',
      fields: { x: fc.string() },
    },
    { name: 'me', method: 'GET', path: (_c, r) => `/auth/me?${r.query}`, auth: 'user' },
    {
      name: 'register',
      method: 'POST',
      path: () => '/auth/register',
      auth: 'admin',
      fields: {
        username: fc.string({ minLength: 0, maxLength: 60 }),
        password: fc.string({ maxLength: 80 }),
        email: fc.oneof(fc.emailAddress(), fc.constant(null)),
        permissions: perm,
      },
    },
    { name: 'users', method: 'GET', path: (_c, r) => `/auth/users?${r.query}`, auth: 'admin' },
    { name: 'users stats', method: 'GET', path: () => '/auth/users/stats', auth: 'admin' },
    {
      name: 'patch user',
      method: 'PATCH',
      path: (c, r) => `/auth/users/${r.segment.length % 3 === 0 ? c.victimId : r.segment}`,
      auth: 'admin',
      fields: {
        email: fc.oneof(fc.emailAddress(), fc.constant(null)),
        password: fc.string({ maxLength: 80 }),
        permissions: perm,
        is_active: fc.boolean(),
      },
    },
    {
      name: 'delete user',
      method: 'DELETE',
      path: (_c, r) => `/auth/users/${r.segment}`,
      auth: 'admin',
    },
    {
      name: 'refresh',
      method: 'POST',
      path: () => '/auth/token/refresh',
      auth: 'none',
      fields: {
        refresh_token: fc.oneof(
          fc.string(),
          fc.tuple(fc.uuid(), fc.base64String()).map(([a, b]) => `${a}.${b}`),
        ),
      },
    },
    {
      name: 'revoke',
      method: 'POST',
      path: () => '/auth/token/revoke',
      auth: 'none',
      fields: { refresh_token: fc.string(), revoke_chain: fc.boolean() },
    },
    { name: 'sessions', method: 'GET', path: () => '/auth/sessions', auth: 'user' },
    {
      name: 'delete session',
      method: 'DELETE',
      path: (_c, r) => `/auth/sessions/${r.segment}`,
      auth: 'user',
    },
    {
      name: 'create topic',
      method: 'POST',
      path: () => '/api/v1/topics',
      auth: 'user',
      fields: {
        topic_name: topicName,
        description: fc.oneof(fc.string({ maxLength: 520 }), fc.constant(null)),
        is_public: fc.boolean(),
      },
    },
    {
      name: 'list topics',
      method: 'GET',
      path: (_c, r) => `/api/v1/topics?${r.query}`,
      auth: 'user',
    },
    { name: 'topic stats', method: 'GET', path: () => '/api/v1/topics/stats', auth: 'admin' },
    {
      name: 'get topic',
      method: 'GET',
      path: (_c, r) => `/api/v1/topics/${r.segment}`,
      auth: 'user',
    },
    {
      name: 'page messages',
      method: 'GET',
      path: (c, r) =>
        `/api/v1/topics/${r.segment.length % 2 ? c.ownedTopic : r.segment}/messages?${r.query}`,
      auth: 'user',
    },
    {
      name: 'update topic',
      method: 'PUT',
      path: (c, r) => `/api/v1/topics/${r.segment.length % 2 ? c.ownedTopic : r.segment}`,
      auth: 'user',
      fields: {
        description: fc.oneof(fc.string({ maxLength: 520 }), fc.constant(null)),
        is_public: fc.boolean(),
      },
    },
    {
      name: 'delete topic',
      method: 'DELETE',
      path: (_c, r) => `/api/v1/topics/${r.segment}`,
      auth: 'user',
    },
    {
      name: 'grant',
      method: 'POST',
      path: (c) => `/api/v1/topics/${c.ownedTopic}/permissions`,
      auth: 'user',
      fields: { user_id: idArb, username: fc.string({ maxLength: 60 }), permissions: perm },
    },
    {
      name: 'list grants',
      method: 'GET',
      path: (c) => `/api/v1/topics/${c.ownedTopic}/permissions`,
      auth: 'user',
    },
    {
      name: 'revoke grant',
      method: 'DELETE',
      path: (c, r) => `/api/v1/topics/${c.ownedTopic}/permissions/${r.segment}`,
      auth: 'user',
    },
    {
      name: 'publish',
      method: 'POST',
      path: () => '/api/v1/messages',
      auth: 'user',
      extraBodies: [5000, 20_000].flatMap((d) => [
        `{"topic":"deep","payload":${deep(d, 'object')}}`,
        `{"topic":"deep","payload":{"a":${deep(d, 'array')}}}`,
        `{"topic":"deep","payload":{},"metadata":${deep(d, 'object')}}`,
      ]),
      fields: {
        topic: topicName,
        payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
          maxKeys: 5,
        }),
        ttl: fc.integer({ min: -5, max: 10_000 }),
        metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
          maxKeys: 3,
        }),
      },
    },
    {
      name: 'bulk',
      method: 'POST',
      path: () => '/api/v1/messages/bulk',
      auth: 'user',
      fields: { messages: fc.array(message, { maxLength: 120 }) },
      extraBodies: [5000, 20_000].flatMap((d) => [
        `{"messages":[{"topic":"deep","payload":${deep(d, 'object')}}]}`,
        `{"messages":[{"topic":"deep","payload":{"a":${deep(d, 'array')}}}]}`,
      ]),
    },
    {
      name: 'poll',
      method: 'POST',
      path: () => '/messages/poll',
      auth: 'user',
      mayWait: true,
      fields: {
        topics: fc.array(topicName, { maxLength: 25 }),
        since: fc.dictionary(topicName, fc.oneof(messageId, idArb), { maxKeys: 3 }),
        timeout: fc.constantFrom(0, 1, 2, 61, 1.5, -1),
      },
    },
    {
      name: 'poll stats',
      method: 'GET',
      path: (_c, r) => `/messages/poll/stats?${r.query}`,
      auth: 'user',
    },
    { name: 'health', method: 'GET', path: (_c, r) => `/health?${r.query}`, auth: 'none' },
    { name: 'ready', method: 'GET', path: () => '/ready', auth: 'none' },
    { name: 'metrics', method: 'GET', path: (_c, r) => `/metrics?${r.query}`, auth: 'none' },
    {
      name: 'unknown route',
      method: 'POST',
      path: (_c, r) => `/api/v1/${r.segment}`,
      auth: 'user',
      fields: { a: fc.string() },
    },
  ];
}

function authHeader(auth: Auth, ctx: Ctx, pick: number): Record<string, string> {
  switch (auth) {
    case 'user':
      return { authorization: `Bearer ${ctx.userToken}` };
    case 'admin':
      return { authorization: `Bearer ${ctx.adminToken}` };
    case 'garbage':
      return {
        authorization: [
          'Bearer',
          'Bearer ',
          'Bearer a.b.c',
          'Basic YWRtaW46YWRtaW4=',
          `Bearer ${'x'.repeat(4000)}`,
        ][pick % 5],
      };
    case 'none':
      return {};
  }
}

function buildCases(ctx: Ctx): Case[] {
  const cases: Case[] = [];
  let seed = SEED;
  for (const route of routes()) {
    const arb = fc.record({
      segment: segmentArb,
      query: queryArb,
      body: route.fields ? bodyArb(route.fields) : fc.constant(undefined),
      contentType: contentTypeArb,
      idempotency: fc.option(headerValue, { nil: undefined }),
      requestId: fc.option(headerValue, { nil: undefined }),
      pick: fc.nat(),
    });
    for (const body of route.extraBodies ?? []) {
      cases.push({
        route: route.name,
        method: route.method,
        path: route.path(ctx, { segment: 'x', query: '' }),
        headers: { ...authHeader(route.auth, ctx, 0), 'content-type': 'application/json' },
        body: Buffer.from(body),
      });
    }
    for (const sample of fc.sample(arb, { numRuns: RUNS_PER_ROUTE, seed: seed++ })) {
      const headers: Record<string, string | number> = {
        ...authHeader(route.auth, ctx, sample.pick),
      };
      if (sample.body !== undefined) {
        headers['content-type'] =
          route.form && sample.pick % 3 === 0
            ? 'application/x-www-form-urlencoded'
            : sample.contentType;
        headers['content-length'] = sample.body.length;
      }
      if (sample.idempotency !== undefined) headers['idempotency-key'] = sample.idempotency;
      if (sample.requestId !== undefined) headers['x-request-id'] = sample.requestId;
      cases.push({
        route: route.name,
        method: route.method,
        path: route.path(ctx, sample),
        headers,
        body: sample.body,
        mayWait: route.mayWait,
      });
    }
  }
  return cases;
}

/** An answer is fine when it is not 5xx, not a cut connection, and a contract error if 4xx. */
function verdict(c: Case, res: RawResponse): string | null {
  if (res.status === 0) {
    if (c.mayWait && res.text.includes('timeout')) return null;
    return `no answer (${res.text.slice(0, 80)})`;
  }
  if (res.status >= 500) return `status ${res.status}`;
  if (res.status >= 400 && !isContractError(res.status, res.body))
    return `status ${res.status} with a non-contract body`;
  return null;
}

async function runAll(base: string, cases: Case[], concurrency = 6): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++];
      let res: RawResponse;
      try {
        res = await rawRequest(base, {
          method: c.method,
          path: c.path,
          headers: c.headers,
          body: c.body,
          timeoutMs: c.mayWait ? 4000 : 15_000,
        });
      } catch (error) {
        // node:http refused to send it (invalid header or path characters): not a relay answer.
        if (error instanceof TypeError || (error as { code?: string }).code?.startsWith('ERR_'))
          continue;
        throw error;
      }
      const problem = verdict(c, res);
      if (problem) {
        failures.push(
          `${c.route}: ${c.method} ${c.path.slice(0, 120)} [${String(c.headers['content-type'] ?? '')}] body=${JSON.stringify(
            c.body?.subarray(0, 120).toString('latin1') ?? null,
          )} → ${problem}: ${res.text.slice(0, 200)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

describe('hostile HTTP input (generated with fast-check)', () => {
  jest.setTimeout(SOAK ? 600_000 : 55_000);
  let relay: RelayProcess;
  let ctx: Ctx;

  beforeAll(async () => {
    relay = await startRelayProcess({
      backend: 'memory',
      env: {
        PULSAR_MAX_MESSAGE_SIZE: String(MAX_MESSAGE),
        PULSAR_MAX_BODY_BYTES: String(MAX_BODY),
        PULSAR_POLL_MAX_WAITERS_PER_USER: '1000',
      },
    });
    const user = await createUser(relay.baseUrl, ['read', 'write']);
    const victim = await createUser(relay.baseUrl, ['read']);
    const ownedTopic = uniqueTopic('fuzz');
    await http(relay.baseUrl, 'POST', '/api/v1/topics', {
      token: user.token,
      body: { topic_name: ownedTopic },
    });
    for (let i = 0; i < 5; i++) {
      await http(relay.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic: ownedTopic, payload: { i } },
      });
    }
    ctx = {
      userToken: user.token,
      adminToken: await adminToken(relay.baseUrl),
      ownedTopic,
      victimId: victim.userId,
    };
  });
  afterAll(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
  });

  it('answers every generated request without a 5xx and in the contract error shape', async () => {
    const cases = buildCases(ctx);
    const started = Date.now();
    const failures = await runAll(relay.baseUrl, cases);
    console.log(
      `HTTP fuzz: ${cases.length} requests in ${Date.now() - started} ms, ${failures.length} bad answers (seed ${SEED})\n`,
    );
    expect(failures.slice(0, 25)).toEqual([]);
    expect(relay.isRunning).toBe(true);
    expect((await http(relay.baseUrl, 'GET', '/health')).status).toBe(200);
  });

  it('answers boundary sizes precisely', async () => {
    const token = ctx.userToken;
    const post = (path: string, body: unknown) =>
      http(relay.baseUrl, 'POST', path, { token, body });
    const n255 = 'a'.repeat(255);
    expect((await post('/api/v1/topics', { topic_name: n255 })).status).toBe(201);
    const t256 = await post('/api/v1/topics', { topic_name: 'a'.repeat(256) });
    expect(t256.status).toBe(422);
    expect(isContractError(422, t256.body)).toBe(true);
    expect(
      (await http(relay.baseUrl, 'GET', `/api/v1/topics/${'b'.repeat(256)}`, { token })).status,
    ).toBe(422);
    for (const bad of ['', 'a b', 'é', 'a/b', 'a.b', 'a:b', '日本', 'a\u0000']) {
      const res = await post('/api/v1/topics', { topic_name: bad });
      expect({ bad, status: res.status }).toEqual({ bad, status: 422 });
    }
    // payload + metadata as JSON up to max_message_size is accepted, one byte more is 413.
    const payloadOf = (size: number) => ({ s: 'x'.repeat(size - '{"s":""}'.length) });
    expect(
      (await post('/api/v1/messages', { topic: n255, payload: payloadOf(MAX_MESSAGE - 64) }))
        .status,
    ).toBe(201);
    expect(
      (await post('/api/v1/messages', { topic: n255, payload: payloadOf(MAX_MESSAGE + 1) })).status,
    ).toBe(413);
    const bulkOf = (n: number) => ({
      messages: Array.from({ length: n }, (_, i) => ({ topic: n255, payload: { i } })),
    });
    expect((await post('/api/v1/messages/bulk', bulkOf(100))).status).toBe(207);
    expect((await post('/api/v1/messages/bulk', bulkOf(101))).status).toBe(422);
    expect((await post('/api/v1/messages/bulk', bulkOf(0))).status).toBe(422);
    const topics = (n: number) => Array.from({ length: n }, (_, i) => `${i}-${n255}`.slice(0, 255));
    expect((await post('/messages/poll', { topics: topics(21), timeout: 1 })).status).toBe(422);
    for (const timeout of [0, 61, 1.5, '1', -1]) {
      expect((await post('/messages/poll', { topics: [n255], timeout })).status).toBe(422);
    }
    expect((await post('/messages/poll', { topics: [n255], timeout: 1 })).status).toBe(200);
    for (const since of ['abc', '1-', '-1', '18446744073709551616-0', '1-2-3', 1, null]) {
      const res = await post('/messages/poll', {
        topics: [n255],
        since: { [n255]: since },
        timeout: 1,
      });
      if (since === null) expect(res.status).toBeLessThan(500);
      else expect({ since, status: res.status }).toEqual({ since, status: 422 });
    }
    for (const cursor of ['abc', '1-', '18446744073709551616-0', '%20', '0-0-0']) {
      const res = await http(
        relay.baseUrl,
        'GET',
        `/api/v1/topics/${n255}/messages?cursor=${encodeURIComponent(cursor)}`,
        { token },
      );
      expect({ cursor, status: res.status }).toEqual({ cursor, status: 422 });
    }
    for (const limit of ['0', '-1', 'abc', '1.5']) {
      const res = await http(
        relay.baseUrl,
        'GET',
        `/api/v1/topics/${n255}/messages?limit=${limit}`,
        { token },
      );
      expect([400, 422]).toContain(res.status);
      expect(isContractError(res.status, res.body)).toBe(true);
    }
    const longName = await http(relay.baseUrl, 'POST', '/auth/register', {
      token: ctx.adminToken,
      body: {
        username: 'u'.repeat(51),
        password: 'password-123',
      },
    });
    expect(longName.status).toBe(422);
    const shortPassword = await http(relay.baseUrl, 'POST', '/auth/register', {
      token: ctx.adminToken,
      body: {
        username: `short-${Date.now()}`,
        password: '1234567',
      },
    });
    expect(shortPassword.status).toBe(422);
  });

  it('survives oversized and odd headers', async () => {
    const big = await rawRequest(relay.baseUrl, {
      method: 'GET',
      path: '/health',
      headers: { 'x-big': 'a'.repeat(64 * 1024) },
    });
    // Node's parser refuses it (431) and may reset the connection while the client still writes.
    expect([0, 400, 431]).toContain(big.status);
    const over = await rawRequest(relay.baseUrl, {
      method: 'GET',
      path: '/health',
      headers: { 'x-big': 'a'.repeat(17 * 1024) },
    });
    expect([0, 400, 431]).toContain(over.status);
    const many: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) many[`x-h${i}`] = 'v';
    const lots = await rawRequest(relay.baseUrl, { method: 'GET', path: '/health', headers: many });
    expect(lots.status === 0 || lots.status < 500).toBe(true);
    const longAuth = await rawRequest(relay.baseUrl, {
      method: 'GET',
      path: '/auth/me',
      headers: { authorization: `Bearer ${'a'.repeat(12_000)}` },
    });
    expect(longAuth.status).toBe(401);
    expect(isContractError(401, longAuth.body)).toBe(true);
    const lengthLies = await rawRequest(relay.baseUrl, {
      method: 'POST',
      path: '/api/v1/messages',
      headers: {
        authorization: `Bearer ${ctx.userToken}`,
        'content-type': 'application/json',
        'content-length': 'abc',
      },
      body: '{}',
    });
    expect(lengthLies.status === 0 || (lengthLies.status >= 400 && lengthLies.status < 500)).toBe(
      true,
    );
    expect(relay.isRunning).toBe(true);
    expect((await http(relay.baseUrl, 'GET', '/health')).status).toBe(200);
    expect(relay.stderr()).not.toMatch(/uncaught|unhandled/i);
  });
  it('answers 413 from Content-Length alone, before the body arrives', async () => {
    // A client declaring a huge body must not hold a connection open while it trickles bytes.
    for (const length of [MAX_BODY + 1, 10 * 1024 ** 3]) {
      const res = await rawRequest(relay.baseUrl, {
        method: 'POST',
        path: '/api/v1/messages',
        headers: {
          authorization: `Bearer ${ctx.userToken}`,
          'content-type': 'application/json',
          'content-length': String(length),
        },
        body: '{}',
        timeoutMs: 3000,
      });
      expect({ length, status: res.status }).toEqual({ length, status: 413 });
      expect(isContractError(413, res.body)).toBe(true);
    }
  });

  it('answers concurrent duplicates of one Idempotency-Key with one message, never 5xx', async () => {
    const topic = uniqueTopic('idem');
    const key = `key-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http(relay.baseUrl, 'POST', '/api/v1/messages', {
          token: ctx.userToken,
          headers: { 'idempotency-key': key },
          body: { topic, payload: { attempt: i } },
        }),
      ),
    );
    for (const res of results) {
      expect([201, 409]).toContain(res.status);
      if (res.status === 409) expect(isContractError(409, res.body)).toBe(true);
    }
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.message_id));
    expect(ids.size).toBe(1);
    const page = await http(relay.baseUrl, 'GET', `/api/v1/topics/${topic}/messages?limit=100`, {
      token: ctx.userToken,
    });
    expect(page.body.messages).toHaveLength(1);
  });
});
