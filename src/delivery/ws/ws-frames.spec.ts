import { parseClientFrame } from './ws-frames';

const limits = { maxFrameBytes: 256, maxTopics: 3 };
const parse = (frame: unknown, isBinary = false) =>
  parseClientFrame(
    Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    isBinary,
    limits,
  );

describe('parseClientFrame', () => {
  it('parses subscribe with defaults, deduplicating topics', () => {
    expect(parse({ type: 'subscribe', topics: ['a', 'b', 'a'] })).toEqual({
      type: 'subscribe',
      topics: ['a', 'b'],
      offset: { kind: 'last' },
      clientId: null,
    });
  });

  it('treats a frame with topics and no type as subscribe (upstream clients)', () => {
    expect(parse({ topics: ['a'], client_id: 'c', offset: 'earliest' })).toMatchObject({
      type: 'subscribe',
      clientId: 'c',
      offset: { kind: 'earliest' },
    });
  });

  it('normalises an id offset and accepts "acked"', () => {
    expect(parse({ type: 'subscribe', topics: ['a'], offset: '0017-002' })).toMatchObject({
      offset: { kind: 'after', id: '17-2' },
    });
    expect(parse({ type: 'subscribe', topics: ['a'], offset: 'acked' })).toMatchObject({
      offset: { kind: 'acked' },
    });
  });

  it.each([
    ['invalid JSON', '{', 'INVALID_FRAME'],
    ['an array', '[1]', 'INVALID_FRAME'],
    ['no type', { hello: 1 }, 'INVALID_FRAME'],
    ['a numeric type', { type: 3 }, 'INVALID_FRAME'],
    ['an unknown type', { type: 'nope' }, 'UNKNOWN_MESSAGE_TYPE'],
    ['empty topics', { type: 'subscribe', topics: [] }, 'INVALID_FRAME'],
    ['a bad topic name', { type: 'subscribe', topics: ['a b'] }, 'INVALID_FRAME'],
    ['too many topics', { type: 'subscribe', topics: ['a', 'b', 'c', 'd'] }, 'TOO_MANY_TOPICS'],
    ['a bad offset', { type: 'subscribe', topics: ['a'], offset: '12' }, 'INVALID_FRAME'],
    ['an empty client_id', { type: 'subscribe', topics: ['a'], client_id: '' }, 'INVALID_FRAME'],
    ['an ack without id', { type: 'ack' }, 'INVALID_FRAME'],
    ['an ack with a bad topic', { type: 'ack', message_id: '1-1', topic: '' }, 'INVALID_FRAME'],
    ['an unsubscribe without topics', { type: 'unsubscribe' }, 'INVALID_FRAME'],
    ['an oversized frame', { type: 'ping', pad: 'x'.repeat(300) }, 'FRAME_TOO_LARGE'],
  ])('rejects %s', (_name, frame, code) => {
    expect(() => parse(frame)).toThrow(expect.objectContaining({ code }));
  });

  it('rejects binary frames', () => {
    expect(() => parse({ type: 'ping' }, true)).toThrow(
      expect.objectContaining({ code: 'INVALID_FRAME' }),
    );
  });

  it('parses ack, unsubscribe and ping', () => {
    expect(parse({ type: 'ack', message_id: '5-0' })).toEqual({
      type: 'ack',
      messageId: '5-0',
      topic: null,
    });
    expect(parse({ type: 'unsubscribe', topics: ['a'] })).toEqual({
      type: 'unsubscribe',
      topics: ['a'],
    });
    expect(parse({ type: 'ping' })).toEqual({ type: 'ping' });
  });
});
