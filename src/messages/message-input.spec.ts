import { PayloadTooLargeError, RequestValidationError } from '../common/errors';
import { parseBulkBody, parsePublishBody } from './message-input';

const limits = { maxMessageSize: 200, maxBulkMessages: 3, maxPayloadDepth: 8 };

function issuesOf(fn: () => unknown): unknown[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof RequestValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parsePublishBody', () => {
  it('builds the message to store, metadata defaulting to {}, with the payload JSON kept', () => {
    expect(parsePublishBody({ topic: 'a-b_1', payload: { x: 1 }, extra: true }, limits)).toEqual({
      topic: 'a-b_1',
      payload: { x: 1 },
      metadata: {},
      ttl: undefined,
      payloadJson: '{"x":1}',
    });
    expect(
      parsePublishBody({ topic: 't', payload: {}, metadata: { k: 'v' }, ttl: 5 }, limits),
    ).toEqual({ topic: 't', payload: {}, metadata: { k: 'v' }, ttl: 5, payloadJson: '{}' });
  });

  it('treats null metadata and ttl as absent', () => {
    expect(
      parsePublishBody({ topic: 't', payload: {}, metadata: null, ttl: null }, limits),
    ).toEqual({ topic: 't', payload: {}, metadata: {}, ttl: undefined, payloadJson: '{}' });
  });

  it('reports every problem at once, with pydantic-style locations', () => {
    expect(
      issuesOf(() =>
        parsePublishBody({ topic: 'a.b', payload: [1], metadata: { k: 1 }, ttl: 0 }, limits),
      ),
    ).toEqual([
      { loc: ['body', 'topic'], msg: expect.any(String), type: 'string_pattern_mismatch' },
      { loc: ['body', 'payload'], msg: 'Input should be a valid dictionary', type: 'dict_type' },
      {
        loc: ['body', 'metadata', 'k'],
        msg: 'Input should be a valid string',
        type: 'string_type',
      },
      { loc: ['body', 'ttl'], msg: 'Input should be greater than 0', type: 'greater_than' },
    ]);
  });

  it.each([
    [{ payload: {} }, ['body', 'topic'], 'missing'],
    [{ topic: 5, payload: {} }, ['body', 'topic'], 'string_type'],
    [{ topic: 't' }, ['body', 'payload'], 'missing'],
    [{ topic: 't', payload: 'x' }, ['body', 'payload'], 'dict_type'],
    [{ topic: 't', payload: null }, ['body', 'payload'], 'dict_type'],
    [{ topic: 't', payload: {}, metadata: ['a'] }, ['body', 'metadata'], 'dict_type'],
    [{ topic: 't', payload: {}, ttl: 1.5 }, ['body', 'ttl'], 'int_type'],
    [{ topic: 't', payload: {}, ttl: '5' }, ['body', 'ttl'], 'int_type'],
    [{ topic: 't', payload: {}, ttl: -1 }, ['body', 'ttl'], 'greater_than'],
    [{ topic: 't', payload: {}, ttl: 2 ** 40 }, ['body', 'ttl'], 'less_than_equal'],
    [{ topic: '', payload: {} }, ['body', 'topic'], 'string_pattern_mismatch'],
    [{ topic: 'x'.repeat(256), payload: {} }, ['body', 'topic'], 'string_pattern_mismatch'],
  ])('rejects %j at %j (%s)', (body, loc, type) => {
    expect(issuesOf(() => parsePublishBody(body, limits))).toEqual([
      expect.objectContaining({ loc, type }),
    ]);
  });

  it.each([null, [], 'text', 3])('rejects the non-object body %j', (body) => {
    expect(issuesOf(() => parsePublishBody(body, limits))).toEqual([
      expect.objectContaining({ loc: ['body'], type: 'dict_type' }),
    ]);
  });

  it('refuses a message whose payload and metadata JSON exceed the limit with 413', () => {
    expect(() => parsePublishBody({ topic: 't', payload: { s: 'x'.repeat(195) } }, limits)).toThrow(
      PayloadTooLargeError,
    );
    expect(() =>
      parsePublishBody(
        { topic: 't', payload: { s: 'x'.repeat(100) }, metadata: { m: 'y'.repeat(90) } },
        limits,
      ),
    ).toThrow(PayloadTooLargeError);
    // multi-byte characters count as bytes
    expect(() =>
      parsePublishBody({ topic: 't', payload: { s: '\u00e9'.repeat(97) } }, limits),
    ).toThrow(PayloadTooLargeError);
    expect(parsePublishBody({ topic: 't', payload: { s: 'x'.repeat(150) } }, limits).topic).toBe(
      't',
    );
  });
});

describe('parseBulkBody', () => {
  const ok = { topic: 't', payload: {} };

  it('accepts 1..maxBulkMessages messages in order', () => {
    const out = parseBulkBody({ messages: [ok, { ...ok, topic: 'u' }] }, limits);
    expect(out.map((m) => m.topic)).toEqual(['t', 'u']);
  });

  it.each([
    [{}, 'missing'],
    [{ messages: {} }, 'list_type'],
    [{ messages: [] }, 'too_short'],
    [{ messages: [ok, ok, ok, ok] }, 'too_long'],
  ])('rejects %j (%s)', (body, type) => {
    expect(issuesOf(() => parseBulkBody(body, limits))).toEqual([
      expect.objectContaining({ loc: ['body', 'messages'], type }),
    ]);
  });

  it('rejects the whole request when one element is invalid, naming its index', () => {
    expect(
      issuesOf(() => parseBulkBody({ messages: [ok, { topic: 't', payload: 1 }] }, limits)),
    ).toEqual([
      expect.objectContaining({ loc: ['body', 'messages', 1, 'payload'], type: 'dict_type' }),
    ]);
  });

  it('refuses an oversized element with 413 naming its index', () => {
    expect(() =>
      parseBulkBody({ messages: [ok, { topic: 't', payload: { s: 'x'.repeat(300) } }] }, limits),
    ).toThrow(
      new PayloadTooLargeError('Message at index 1 exceeds the maximum message size of 200 bytes'),
    );
  });
});

describe('payload nesting', () => {
  const deep = (levels: number): Record<string, unknown> => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < levels; i++) value = { a: value };
    return value;
  };

  it('accepts payloads up to max_payload_depth levels and refuses deeper ones with 422', () => {
    expect(() => parsePublishBody({ topic: 't', payload: deep(8) }, limits)).not.toThrow();
    expect(() => parsePublishBody({ topic: 't', payload: deep(9) }, limits)).toThrow(
      RequestValidationError,
    );
    expect(() => parsePublishBody({ topic: 't', payload: deep(100_000) }, limits)).toThrow(
      RequestValidationError,
    );
  });
});
