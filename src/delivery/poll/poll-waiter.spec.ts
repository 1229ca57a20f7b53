import { AuthUser } from '../../auth/auth-user';
import { StoredMessage } from '../../storage/ports';
import { AccessCheck } from '../access-check';
import { OutboundMessage } from '../outbound-message';
import { PollWaiter } from './poll-waiter';

const user: AuthUser = { userId: 'u', username: 'u', permissions: ['read'], jti: 'j1', exp: 0 };
const msg = (topic: string, n: number): StoredMessage => ({
  id: `10-${n}`,
  topic,
  payload: { n },
  metadata: {},
  timestamp: '2024-01-01T00:00:00.000Z',
  expiresAt: null,
});
const live = (topic: string, n: number) => new OutboundMessage(msg(topic, n));

describe('PollWaiter', () => {
  const access = { canRead: jest.fn(), refreshUser: jest.fn() };
  let sut: PollWaiter;

  beforeEach(() => {
    sut = new PollWaiter(
      user,
      ['a', 'b'],
      new Map([['a', '10-1']]),
      3,
      access as unknown as AccessCheck,
      async () => undefined,
    );
  });

  it('merges the catch-up read with messages that arrived during it, by id', () => {
    const [a] = sut.lanes;
    a.onMessage(live('a', 3)); // published during the read, also in the read
    a.onMessage(live('a', 4));
    a.caughtUp([msg('a', 2), msg('a', 3)]);
    expect(sut.response()).toEqual({
      messages: [2, 3, 4].map((n) =>
        expect.objectContaining({ message_id: `10-${n}`, stream_id: `10-${n}` }),
      ),
      has_more: false,
    });
  });

  it('flags has_more when a topic has more than one page pending', () => {
    sut.lanes[0].caughtUp([msg('a', 2), msg('a', 3), msg('a', 4), msg('a', 5)]);
    const response = sut.response();
    expect(response.messages.map((m) => m.message_id)).toEqual(['10-2', '10-3', '10-4']);
    expect(response.has_more).toBe(true);
  });

  it('answers on the first live message (and what arrives in the same tick)', async () => {
    sut.lanes[0].caughtUp([]);
    const waiting = sut.wait(10_000, new AbortController().signal);
    sut.lanes[1].onMessage(live('b', 7));
    sut.lanes[0].onMessage(live('a', 8));
    await waiting;
    expect(sut.response().messages.map((m) => `${m.topic}:${m.message_id}`)).toEqual([
      'a:10-8',
      'b:10-7',
    ]);
    expect(sut.lanes[1].onMessage(live('b', 9))).toBe(false); // finished: no more taken
  });

  it('times out empty, and ends early when aborted', async () => {
    sut.lanes[0].caughtUp([]);
    await sut.wait(10, new AbortController().signal);
    expect(sut.response()).toEqual({ messages: [], has_more: false });
  });

  it('fails with 404 when a waited-on topic is deleted, and 401 on its token being revoked', async () => {
    sut.lanes[0].caughtUp([]);
    const waiting = sut.wait(10_000, new AbortController().signal);
    sut.topicDeleted('b');
    await waiting;
    expect(() => sut.response()).toThrow(
      expect.objectContaining({ status: 404, code: 'TOPIC_NOT_FOUND' }),
    );

    const other = new PollWaiter(
      user,
      ['a'],
      new Map(),
      3,
      access as unknown as AccessCheck,
      async () => undefined,
    );
    other.tokenRevoked('someone-else');
    other.tokenRevoked('j1');
    await other.wait(10_000, new AbortController().signal);
    expect(() => other.response()).toThrow(
      expect.objectContaining({ status: 401, code: 'TOKEN_REVOKED' }),
    );
  });
});
