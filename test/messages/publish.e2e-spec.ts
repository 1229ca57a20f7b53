import { http } from '../support/http';
import {
  Backend,
  bootApp,
  createTopic,
  Harness,
  makeUser,
  publish,
  TestUser,
  unique,
} from '../topics/fixtures';

const ID = /^\d+-\d+$/;
const ISO_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const RATE_LIMIT = 40;

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : Number(am - bm);
}

const BACKENDS_WITH_CLUSTER: Backend[] = ['memory', 'valkey', 'valkey-cluster'];

describe.each(BACKENDS_WITH_CLUSTER)('publishing (%s)', (backend) => {
  let h: Harness;

  beforeAll(async () => {
    // Rate limiting on, high enough for every test but the one that exhausts it on its own user.
    h = await bootApp(backend, { 'limits.rate_limit_per_client': RATE_LIMIT });
  });
  afterAll(() => h?.close());

  const stored = async (user: TestUser, topic: string): Promise<any[]> => {
    const res = await http(
      h.baseUrl,
      'GET',
      `/api/v1/topics/${topic}/messages?order=asc&limit=100`,
      {
        token: user.token,
      },
    );
    expect(res.status).toBe(200);
    return res.body.messages;
  };

  const bulk = (user: TestUser, messages: unknown, headers: Record<string, string> = {}) =>
    http(h.baseUrl, 'POST', '/api/v1/messages/bulk', {
      token: user.token,
      body: { messages },
      headers,
    });

  describe('POST /api/v1/messages', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await makeUser(h, ['read', 'write']);
    });

    it('answers 201 {message_id, topic, timestamp} and stores payload, metadata and ttl', async () => {
      const topic = unique('single');
      const res = await publish(
        h,
        user,
        topic,
        { hello: 'world', n: [1, 2] },
        {
          metadata: { source: 'e2e' },
          ttl: 3600,
        },
      );
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        message_id: expect.stringMatching(ID),
        topic,
        timestamp: expect.stringMatching(ISO_Z),
      });
      const [message] = await stored(user, topic);
      expect(message).toEqual({
        message_id: res.body.message_id,
        topic,
        payload: { hello: 'world', n: [1, 2] },
        metadata: { source: 'e2e' },
        timestamp: res.body.timestamp,
      });
    });

    it('gives strictly increasing ids within a topic', async () => {
      const topic = unique('order');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await publish(h, user, topic, { i })).body.message_id);
      for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1], ids[i])).toBeLessThan(0);
    });

    it('needs a token and the global write permission', async () => {
      const anon = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        body: { topic: 't', payload: {} },
      });
      expect(anon.status).toBe(401);
      const reader = await makeUser(h, ['read']);
      const res = await publish(h, reader, unique('ro'));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: "Permission 'write' required",
        code: 'PERMISSION_DENIED',
      });
    });

    it("answers 403 on another user's topic and stores nothing", async () => {
      const owner = await makeUser(h, ['read', 'write']);
      const topic = await createTopic(h, owner, { is_public: true });
      const res = await publish(h, user, topic, { intruder: true });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: 'Access denied to topic', code: 'ACCESS_DENIED' });
      expect(await stored(owner, topic)).toEqual([]);
    });

    it.each<[string, unknown, Array<string | number>]>([
      ['payload is an array', { topic: 't', payload: [1] }, ['body', 'payload']],
      ['payload is a string', { topic: 't', payload: 'x' }, ['body', 'payload']],
      ['payload is a number', { topic: 't', payload: 3 }, ['body', 'payload']],
      ['payload is null', { topic: 't', payload: null }, ['body', 'payload']],
      ['payload is missing', { topic: 't' }, ['body', 'payload']],
      ['topic is missing', { payload: {} }, ['body', 'topic']],
      ['topic has a dot', { topic: 'a.b', payload: {} }, ['body', 'topic']],
      ['topic is unicode', { topic: 'caf\u00e9', payload: {} }, ['body', 'topic']],
      ['topic is too long', { topic: 'x'.repeat(256), payload: {} }, ['body', 'topic']],
      ['topic is a number', { topic: 7, payload: {} }, ['body', 'topic']],
      [
        'metadata has a number',
        { topic: 't', payload: {}, metadata: { a: 1 } },
        ['body', 'metadata', 'a'],
      ],
      ['metadata is a list', { topic: 't', payload: {}, metadata: ['a'] }, ['body', 'metadata']],
      ['metadata is a string', { topic: 't', payload: {}, metadata: 'a' }, ['body', 'metadata']],
      ['ttl is 0', { topic: 't', payload: {}, ttl: 0 }, ['body', 'ttl']],
      ['ttl is negative', { topic: 't', payload: {}, ttl: -5 }, ['body', 'ttl']],
      ['ttl is fractional', { topic: 't', payload: {}, ttl: 1.5 }, ['body', 'ttl']],
      ['ttl is a string', { topic: 't', payload: {}, ttl: '10' }, ['body', 'ttl']],
      ['the body is a list', [{ topic: 't', payload: {} }], ['body']],
    ])('answers 422 when %s', async (_case, body, loc) => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/messages', { token: user.token, body });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.detail).toEqual([{ loc, msg: expect.any(String), type: expect.any(String) }]);
    });

    it('answers 422 for malformed JSON', async () => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: '{"topic": "t", "payload": {',
      });
      expect(res.status).toBe(422);
    });

    it('answers 413 when payload and metadata exceed max_message_size, and stores nothing', async () => {
      const topic = unique('big');
      const max = h.config.limits.maxMessageSize;
      const res = await publish(h, user, topic, { blob: 'x'.repeat(max) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        detail: `Message exceeds the maximum message size of ${max} bytes`,
        code: 'PAYLOAD_TOO_LARGE',
      });
      const meta = await publish(
        h,
        user,
        topic,
        { small: true },
        {
          metadata: { blob: 'x'.repeat(max) },
        },
      );
      expect(meta.status).toBe(413);
      const justUnder = await publish(h, user, topic, { b: 'x'.repeat(max - 100) });
      expect(justUnder.status).toBe(201);
      expect(await stored(user, topic)).toHaveLength(1);
    });
  });

  describe('POST /api/v1/messages/bulk', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await makeUser(h, ['read', 'write']);
    });

    it('answers 207 with per-message results in order and a summary', async () => {
      const a = unique('bulk-a');
      const b = unique('bulk-b');
      const res = await bulk(user, [
        { topic: a, payload: { i: 0 } },
        { topic: b, payload: { i: 1 }, metadata: { k: 'v' } },
        { topic: a, payload: { i: 2 }, ttl: 60 },
      ]);
      expect(res.status).toBe(207);
      expect(res.body).toEqual({
        results: [
          { message_id: expect.stringMatching(ID), topic: a, status: 'accepted', error: null },
          { message_id: expect.stringMatching(ID), topic: b, status: 'accepted', error: null },
          { message_id: expect.stringMatching(ID), topic: a, status: 'accepted', error: null },
        ],
        summary: { total: 3, accepted: 3, rejected: 0 },
      });
      const ofA = await stored(user, a);
      expect(ofA.map((m) => m.payload)).toEqual([{ i: 0 }, { i: 2 }]);
      expect(ofA.map((m) => m.message_id)).toEqual([
        res.body.results[0].message_id,
        res.body.results[2].message_id,
      ]);
      expect((await stored(user, b))[0].metadata).toEqual({ k: 'v' });
    });

    it('accepts exactly max_bulk_messages', async () => {
      const topic = unique('full');
      const max = h.config.limits.maxBulkMessages;
      const res = await bulk(
        user,
        Array.from({ length: max }, (_, i) => ({ topic, payload: { i } })),
      );
      expect(res.status).toBe(207);
      expect(res.body.summary).toEqual({ total: max, accepted: max, rejected: 0 });
      const ids = res.body.results.map((r: any) => r.message_id);
      for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1], ids[i])).toBeLessThan(0);
    });

    it.each<[string, unknown, Array<string | number>]>([
      ['0 messages', { messages: [] }, ['body', 'messages']],
      [
        '101 messages',
        { messages: Array.from({ length: 101 }, () => ({ topic: 't', payload: {} })) },
        ['body', 'messages'],
      ],
      ['messages missing', {}, ['body', 'messages']],
      ['messages not a list', { messages: { topic: 't' } }, ['body', 'messages']],
      [
        'one payload not an object',
        {
          messages: [
            { topic: 't', payload: {} },
            { topic: 't', payload: [] },
          ],
        },
        ['body', 'messages', 1, 'payload'],
      ],
      [
        'one bad topic',
        {
          messages: [
            { topic: 'ok', payload: {} },
            { topic: 'no way', payload: {} },
          ],
        },
        ['body', 'messages', 1, 'topic'],
      ],
      [
        'one bad metadata',
        { messages: [{ topic: 't', payload: {}, metadata: { x: true } }] },
        ['body', 'messages', 0, 'metadata', 'x'],
      ],
      [
        'one bad ttl',
        { messages: [{ topic: 't', payload: {}, ttl: 0 }] },
        ['body', 'messages', 0, 'ttl'],
      ],
    ])('answers 422 for %s, storing nothing', async (_case, body, loc) => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/messages/bulk', {
        token: user.token,
        body,
      });
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([{ loc, msg: expect.any(String), type: expect.any(String) }]);
    });

    it('stores nothing when one element is invalid', async () => {
      const topic = unique('partial');
      const res = await bulk(user, [
        { topic, payload: { ok: true } },
        { topic, payload: 'nope' },
      ]);
      expect(res.status).toBe(422);
      const check = await http(h.baseUrl, 'GET', `/api/v1/topics/${topic}`, { token: user.token });
      expect(check.status).toBe(404);
    });

    it('answers 413 when one element is too large, storing nothing', async () => {
      const topic = unique('bigbulk');
      const max = h.config.limits.maxMessageSize;
      const res = await bulk(user, [
        { topic, payload: { ok: true } },
        { topic, payload: { blob: 'x'.repeat(max) } },
      ]);
      expect(res.status).toBe(413);
      expect(res.body.detail).toBe(
        `Message at index 1 exceeds the maximum message size of ${max} bytes`,
      );
      const check = await http(h.baseUrl, 'GET', `/api/v1/topics/${topic}`, { token: user.token });
      expect(check.status).toBe(404);
    });

    it("answers 403 for the whole request when one topic is someone else's", async () => {
      const owner = await makeUser(h, ['read', 'write']);
      const theirs = await createTopic(h, owner);
      const mine = unique('mine');
      const res = await bulk(user, [
        { topic: mine, payload: {} },
        { topic: theirs, payload: {} },
      ]);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: 'Access denied to one or more requested topics',
        code: 'ACCESS_DENIED',
      });
      expect(await stored(owner, theirs)).toEqual([]);
    });
  });

  describe('Idempotency-Key', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await makeUser(h, ['read', 'write']);
    });

    it('replays the first response for the same key: same message_id, one stored message', async () => {
      const topic = unique('idem');
      const key = unique('key');
      const headers = { 'Idempotency-Key': key };
      const first = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic, payload: { n: 1 } },
        headers,
      });
      const second = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic, payload: { n: 2 } },
        headers,
      });
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body).toEqual(first.body);
      const messages = await stored(user, topic);
      expect(messages.map((m) => m.payload)).toEqual([{ n: 1 }]);
    });

    it('replays a bulk response with its 207 status', async () => {
      const topic = unique('idem-bulk');
      const headers = { 'Idempotency-Key': unique('key') };
      const messages = [
        { topic, payload: { n: 1 } },
        { topic, payload: { n: 2 } },
      ];
      const first = await bulk(user, messages, headers);
      const second = await bulk(user, messages, headers);
      expect(first.status).toBe(207);
      expect(second.status).toBe(207);
      expect(second.body).toEqual(first.body);
      expect(await stored(user, topic)).toHaveLength(2);
    });

    it('scopes keys per user and per endpoint', async () => {
      const other = await makeUser(h, ['read', 'write']);
      const topic = unique('idem-scope');
      await createTopic(h, user, { topic_name: topic });
      await http(h.baseUrl, 'POST', `/api/v1/topics/${topic}/permissions`, {
        token: user.token,
        body: { user_id: other.userId, permissions: ['read', 'write'] },
      });
      const headers = { 'Idempotency-Key': unique('shared') };
      const mine = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic, payload: { who: 'me' } },
        headers,
      });
      const theirs = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: other.token,
        body: { topic, payload: { who: 'other' } },
        headers,
      });
      const asBulk = await bulk(user, [{ topic, payload: { who: 'bulk' } }], headers);
      expect(theirs.body.message_id).not.toBe(mine.body.message_id);
      expect(asBulk.status).toBe(207);
      expect(asBulk.body.summary.accepted).toBe(1);
      expect(await stored(user, topic)).toHaveLength(3);
    });

    it('never answers 5xx to concurrent duplicates: one message, every 201 with the same id', async () => {
      const topic = unique('idem-race');
      const headers = { 'Idempotency-Key': unique('race') };
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          http(h.baseUrl, 'POST', '/api/v1/messages', {
            token: user.token,
            body: { topic, payload: { i } },
            headers,
          }),
        ),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      for (const r of responses.filter((x) => x.status === 409)) {
        expect(r.body.code).toBe('IDEMPOTENCY_IN_FLIGHT');
      }
      const ids = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.message_id));
      expect(ids.size).toBe(1);
      expect(await stored(user, topic)).toHaveLength(1);
    });

    it('does not remember a refused request: after a 403 the key is still free', async () => {
      const owner = await makeUser(h, ['read', 'write']);
      const topic = await createTopic(h, owner);
      const headers = { 'Idempotency-Key': unique('refused') };
      const refused = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic, payload: {} },
        headers,
      });
      expect(refused.status).toBe(403);
      const elsewhere = unique('elsewhere');
      const ok = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic: elsewhere, payload: {} },
        headers,
      });
      expect(ok.status).toBe(201);
      expect(ok.body.topic).toBe(elsewhere);
    });

    it('rejects a key over 255 characters with 422', async () => {
      const res = await http(h.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic: unique('k'), payload: {} },
        headers: { 'Idempotency-Key': 'k'.repeat(256) },
      });
      expect(res.status).toBe(422);
      expect(res.body.detail[0].loc).toEqual(['header', 'Idempotency-Key']);
    });
  });

  describe('rate limit and metrics', () => {
    it(`answers 429 with Retry-After after ${RATE_LIMIT} publish requests a minute (single and bulk together)`, async () => {
      const user = await makeUser(h, ['read', 'write']);
      const topic = unique('limited');
      for (let i = 0; i < RATE_LIMIT / 2; i++) {
        expect((await publish(h, user, topic, { i })).status).toBe(201);
        expect((await bulk(user, [{ topic, payload: { i } }])).status).toBe(207);
      }
      const res = await publish(h, user, topic);
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('RATE_LIMITED');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const other = await makeUser(h, ['read', 'write']);
      expect((await publish(h, other, unique('free'))).status).toBe(201);
    });

    it('counts received messages (no topic label by default) and storage operations', async () => {
      const user = await makeUser(h, ['read', 'write']);
      const read = async (): Promise<{ received: number; appends: number }> => {
        const text = (await http(h.baseUrl, 'GET', '/metrics')).text;
        const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
        return {
          received: value(/^relay_messages_received_total\{topic=""\} (\d+)/m),
          appends: value(
            /^relay_storage_operations_total\{operation="append",status="ok"\} (\d+)/m,
          ),
        };
      };
      const before = await read();
      await publish(h, user, unique('m'));
      await bulk(user, [
        { topic: unique('m'), payload: {} },
        { topic: unique('m'), payload: {} },
      ]);
      const after = await read();
      expect(after.received - before.received).toBe(3);
      expect(after.appends - before.appends).toBe(1);
    });
  });
});
