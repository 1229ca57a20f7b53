import fc from 'fast-check';
import { BearerAuth } from '../../src/auth/bearer-auth';
import { startApp } from '../support/app';
import { adminToken, createUser, http } from '../support/http';
import { startRelayProcess } from '../support/relay-process';
import { rawRequest } from '../support/clients';

/**
 * The publish fast path (`src/fast-path`) must answer exactly as the Express pipeline does. Two
 * relays, one with the fast path and one without, get the same requests; their answers (status,
 * error headers, body with ids and times masked) and what they store must be the same.
 */

interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

interface RawRequest {
  path: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
}

async function send(baseUrl: string, req: RawRequest): Promise<Answer> {
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
  const headers = { 'content-type': 'application/json', ...req.headers };
  const res = await rawRequest(
    baseUrl,
    req.chunked
      ? { method: 'POST', path: req.path, headers, chunks: [body] }
      : {
          method: 'POST',
          path: req.path,
          headers: { ...headers, 'content-length': body.length },
          body,
        },
  );
  if (res.status === 0) throw new Error(`no answer: ${res.text}`); // reset or timeout
  const header = (name: string): string | undefined => res.headers[name] as string | undefined;
  return {
    status: res.status,
    headers: {
      'content-type': header('content-type'),
      'www-authenticate': header('www-authenticate'),
      'retry-after': header('retry-after'),
      allow: header('allow'),
    },
    body: res.body as unknown,
  };
}

/** Ids and times differ between two relays; everything else must not. */
function masked(answer: Answer): Answer {
  const text = JSON.stringify(answer.body)
    .replace(/"\d{10,}-\d+"/g, '"<id>"')
    .replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"<time>"');
  return { ...answer, body: JSON.parse(text) as unknown };
}

const LIMITS = {
  'limits.max_message_size': 4096,
  'limits.max_bulk_messages': 5,
  'limits.max_payload_depth': 8,
  'server.trusted_hosts': ['127.0.0.1', 'localhost'],
};

interface Side {
  baseUrl: string;
  writer: string;
  reader: string;
  admin: string;
  close(): Promise<unknown>;
}

async function users(baseUrl: string, close: () => Promise<unknown>): Promise<Side> {
  const writer = await createUser(baseUrl, ['read', 'write'], 'writer');
  const reader = await createUser(baseUrl, ['read'], 'reader');
  return {
    baseUrl,
    writer: writer.token,
    reader: reader.token,
    admin: await adminToken(baseUrl),
    close,
  };
}

/** In this process, so that the fast path's authenticator can be watched. */
async function fastSide(): Promise<Side & { fastCalls: () => number }> {
  const app = await startApp({ overrides: { ...LIMITS, 'server.fast_path': true } });
  const spy = jest.spyOn(app.app.get(BearerAuth), 'require');
  return {
    ...(await users(app.baseUrl, () => app.close())),
    fastCalls: () => spy.mock.calls.length,
  };
}

/**
 * A separate process: passport keeps one strategy registry per process, so two apps in one process
 * would check each other's tokens against each other's users.
 */
async function expressSide(): Promise<Side> {
  const relay = await startRelayProcess({
    backend: 'memory',
    env: {
      PULSAR_FAST_PATH: 'false',
      PULSAR_MAX_MESSAGE_SIZE: String(LIMITS['limits.max_message_size']),
      PULSAR_MAX_BULK_MESSAGES: String(LIMITS['limits.max_bulk_messages']),
      PULSAR_MAX_PAYLOAD_DEPTH: String(LIMITS['limits.max_payload_depth']),
      PULSAR_TRUSTED_HOSTS: LIMITS['server.trusted_hosts'].join(','),
    },
  });
  return users(relay.baseUrl, () => relay.stop());
}

describe('publish fast path answers as the Express pipeline does', () => {
  let fast: Side & { fastCalls: () => number };
  let slow: Side;

  beforeAll(async () => {
    [fast, slow] = await Promise.all([fastSide(), expressSide()]);
  });
  afterAll(async () => {
    await fast?.close();
    await slow?.close();
  });

  type Who = 'writer' | 'reader' | 'admin' | 'nobody' | 'garbage';
  const auth = (s: Side, who: Who): Record<string, string> =>
    who === 'nobody'
      ? {}
      : { authorization: `Bearer ${who === 'garbage' ? 'not.a.token' : s[who]}` };

  const both = async (req: RawRequest, who: Who = 'writer'): Promise<[Answer, Answer]> => {
    const a = await send(fast.baseUrl, {
      ...req,
      headers: { ...auth(fast, who), ...req.headers },
    });
    const b = await send(slow.baseUrl, {
      ...req,
      headers: { ...auth(slow, who), ...req.headers },
    });
    return [masked(a), masked(b)];
  };

  const same = async (req: RawRequest, who: Who = 'writer'): Promise<Answer> => {
    const [a, b] = await both(req, who);
    expect(a).toEqual(b);
    return a;
  };

  const one = (topic: string, extra: object = {}): string =>
    JSON.stringify({ topic, payload: { n: 1 }, ...extra });

  it('takes plain JSON publishes on the fast path ', async () => {
    const before = fast.fastCalls();
    const ok = await same({ path: '/api/v1/messages', body: one('fp-taken') });
    expect(ok.status).toBe(201);
    const bulk = await same({
      path: '/api/v1/messages/bulk',
      body: JSON.stringify({ messages: [{ topic: 'fp-taken', payload: {} }] }),
    });
    expect(bulk.status).toBe(207);
    expect(fast.fastCalls()).toBe(before + 2);
  });

  const cases: Array<[string, RawRequest, Who?]> = [
    ['an empty body', { path: '/api/v1/messages', body: '' }],
    ['blanks only', { path: '/api/v1/messages', body: ' \n\t' }],
    ['a byte-order mark', { path: '/api/v1/messages', body: `\uFEFF${one('fp-bom')}` }],
    ['a JSON string', { path: '/api/v1/messages', body: '"topic"' }],
    ['a number', { path: '/api/v1/messages', body: '42' }],
    ['an array', { path: '/api/v1/messages', body: '[]' }],
    ['truncated JSON', { path: '/api/v1/messages', body: '{"topic":"fp-x"' }],
    ['invalid UTF-8', { path: '/api/v1/messages', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }],
    ['a bad topic name', { path: '/api/v1/messages', body: one('bad name!') }],
    ['every field wrong', { path: '/api/v1/messages', body: '{"topic":1,"payload":[],"ttl":0.5}' }],
    [
      'non-string metadata',
      { path: '/api/v1/messages', body: one('fp-meta', { metadata: { a: 1 } }) },
    ],
    ['ttl 0', { path: '/api/v1/messages', body: one('fp-ttl', { ttl: 0 }) }],
    [
      'a payload nested too deeply',
      {
        path: '/api/v1/messages',
        body: one('fp-deep', { payload: JSON.parse('{"a":'.repeat(12) + '1' + '}'.repeat(12)) }),
      },
    ],
    [
      'a message over max_message_size',
      { path: '/api/v1/messages', body: one('fp-big', { payload: { s: 'x'.repeat(5000) } }) },
    ],
    ['no token', { path: '/api/v1/messages', body: one('fp-anon') }, 'nobody'],
    ['a bad token', { path: '/api/v1/messages', body: one('fp-anon') }, 'garbage'],
    ['a token without write', { path: '/api/v1/messages', body: one('fp-read') }, 'reader'],
    [
      'a lowercase scheme',
      { path: '/api/v1/messages', body: one('fp-scheme'), headers: { authorization: 'bearer x' } },
    ],
    [
      'an untrusted Host',
      { path: '/api/v1/messages', body: one('fp-host'), headers: { host: 'evil.example' } },
    ],
    [
      'an untrusted Host and bad JSON',
      { path: '/api/v1/messages', body: '{', headers: { host: 'evil.example' } },
    ],
    [
      'an Idempotency-Key over 255 characters',
      {
        path: '/api/v1/messages',
        body: one('fp-idem'),
        headers: { 'idempotency-key': 'k'.repeat(300) },
      },
    ],
    [
      'a charset',
      {
        path: '/api/v1/messages',
        body: one('fp-charset'),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      },
    ],
    [
      'another charset',
      {
        path: '/api/v1/messages',
        body: one('fp-charset'),
        headers: { 'content-type': 'application/json; charset=latin1' },
      },
    ],
    [
      'text/plain',
      { path: '/api/v1/messages', body: one('fp-text'), headers: { 'content-type': 'text/plain' } },
    ],
    ['a query string', { path: '/api/v1/messages?x=1', body: one('fp-query') }],
    ['a chunked body', { path: '/api/v1/messages', body: one('fp-chunked'), chunked: true }],
    ['someone else’s topic', { path: '/api/v1/messages', body: one('fp-admins') }],
    ['bulk: not an object', { path: '/api/v1/messages/bulk', body: '[1]' }],
    ['bulk: no list', { path: '/api/v1/messages/bulk', body: '{}' }],
    ['bulk: empty list', { path: '/api/v1/messages/bulk', body: '{"messages":[]}' }],
    [
      'bulk: over max_bulk_messages',
      {
        path: '/api/v1/messages/bulk',
        body: JSON.stringify({
          messages: Array.from({ length: 6 }, () => ({ topic: 'a', payload: {} })),
        }),
      },
    ],
    [
      'bulk: some invalid',
      {
        path: '/api/v1/messages/bulk',
        body: JSON.stringify({ messages: [{ topic: 'fp-b', payload: {} }, { topic: 'fp-b' }, 3] }),
      },
    ],
    [
      'bulk: someone else’s topic among them',
      {
        path: '/api/v1/messages/bulk',
        body: JSON.stringify({
          messages: [
            { topic: 'fp-b', payload: {} },
            { topic: 'fp-admins', payload: {} },
          ],
        }),
      },
    ],
  ];

  // A rest parameter: jest would take a third named parameter of a two-item row for `done`.
  it.each(cases)('%s', async (...[, req, who]) => {
    if (req.body.includes('fp-admins')) {
      // A topic owned by the admin, on both relays.
      await same({ path: '/api/v1/messages', body: one('fp-admins') }, 'admin');
    }
    await same(req, who ?? 'writer');
  });

  it('replays an idempotent publish the same way', async () => {
    const req = {
      path: '/api/v1/messages',
      body: one('fp-idem-ok'),
      headers: { 'idempotency-key': 'once' },
    };
    const first = await send(fast.baseUrl, {
      ...req,
      headers: { ...req.headers, ...auth(fast, 'writer') },
    });
    const again = await send(fast.baseUrl, {
      ...req,
      headers: { ...req.headers, ...auth(fast, 'writer') },
    });
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    await same(req);
  });

  it('agrees on generated bodies, and both relays store the same messages', async () => {
    const topic = fc.oneof(
      fc.constantFrom('fp-gen', 'fp-gen-2', 'bad topic', '', 'a'.repeat(300)),
      fc.string({ maxLength: 8 }),
      fc.integer(),
    );
    const field = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const message = fc.record(
      {
        topic: field(topic),
        payload: field(
          fc.oneof(
            fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 })),
            fc.jsonValue({ maxDepth: 2 }),
          ),
        ),
        metadata: field(
          fc.oneof(
            fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })),
            fc.jsonValue({ maxDepth: 1 }),
          ),
        ),
        ttl: field(
          fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), fc.string({ maxLength: 3 })),
        ),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      {
        weight: 5,
        arbitrary: message.map((m) => ({ path: '/api/v1/messages', body: JSON.stringify(m) })),
      },
      {
        weight: 2,
        arbitrary: fc.array(message, { maxLength: 7 }).map((messages) => ({
          path: '/api/v1/messages/bulk',
          body: JSON.stringify({ messages }),
        })),
      },
      {
        weight: 1,
        arbitrary: fc.string({ maxLength: 20 }).map((s) => ({ path: '/api/v1/messages', body: s })),
      },
    );
    await fc.assert(
      fc.asyncProperty(body, async (req) => {
        const [a, b] = await both(req);
        expect(a).toEqual(b);
        expect(a.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    for (const name of ['fp-gen', 'fp-gen-2']) {
      const read = async (s: Side) => {
        const res = await http(
          s.baseUrl,
          'GET',
          `/api/v1/topics/${name}/messages?order=asc&limit=100`,
          {
            token: s.writer,
          },
        );
        return res.status === 200
          ? (res.body.messages as Array<Record<string, unknown>>).map((m) => [
              m.payload,
              m.metadata,
            ])
          : res.status;
      };
      expect(await read(fast)).toEqual(await read(slow));
    }
  });
});
