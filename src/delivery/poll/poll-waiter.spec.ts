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
  /** A poll of `topics` (batch size 3) whose access checks pass. */
  const waiterOn = (topics: string[], since = new Map<string, string>()): PollWaiter =>
    new PollWaiter(user, topics, since, 3, access as unknown as AccessCheck, async () => undefined);

  beforeEach(() => {
    sut = waiterOn(['a', 'b'], new Map([['a', '10-1']]));
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
    const waiting = sut.wait(10_000);
    sut.lanes[1].onMessage(live('b', 7));
    sut.lanes[0].onMessage(live('a', 8));
    await waiting;
    expect(sut.response().messages.map((m) => `${m.topic}:${m.message_id}`)).toEqual([
      'a:10-8',
      'b:10-7',
    ]);
    expect(sut.lanes[1].onMessage(live('b', 9))).toBe(false); // finished: no more taken
  });

  it('times out empty, and ends early when the client goes away', async () => {
    sut.lanes[0].caughtUp([]);
    await sut.wait(10);
    expect(sut.response()).toEqual({ messages: [], has_more: false });
    expect(sut.body().toString()).toBe('{"messages":[],"has_more":false}');
    expect(sut.abandoned).toBe(false);

    const other = waiterOn(['a']);
    const waiting = other.wait(10_000);
    other.abandon();
    await waiting;
    expect(other.abandoned).toBe(true);
    expect(other.lanes[0].onMessage(live('a', 1))).toBe(false);

    const early = waiterOn(['a']);
    early.abandon(); // gone during the catch-up read
    await early.wait(10_000);
    expect(early.abandoned).toBe(true);
  });

  it('serialises its answer as JSON.stringify(response()) would, sharing one live message', async () => {
    const waiters = [1, 2].map(() => waiterOn(['a', 'b']));
    const waiting = waiters.map((w) => w.wait(10_000));
    const message = live('b', 5);
    for (const w of waiters) w.lanes[1].onMessage(message);
    await Promise.all(waiting);
    const [first, second] = waiters.map((w) => w.body());
    expect(first).toBe(second); // the same bytes, serialised once
    expect(first.toString()).toBe(JSON.stringify(waiters[0].response()));

    // More than one item, or a page cut short: serialised for this poll alone.
    sut.lanes[0].caughtUp([msg('a', 2), msg('a', 3), msg('a', 4), msg('a', 5)]);
    expect(sut.body().toString()).toBe(JSON.stringify(sut.response()));
    expect(JSON.parse(sut.body().toString())).toMatchObject({ has_more: true });
  });

  it('answers every poll a message releases on one later turn', async () => {
    const waiters = Array.from({ length: 3 }, () => waiterOn(['a']));
    const waiting = waiters.map((w) => w.wait(10_000));
    const message = live('a', 9);
    for (const w of waiters) w.lanes[0].onMessage(message);
    expect(waiters.map((w) => w.finished)).toEqual([false, false, false]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(waiters.map((w) => w.finished)).toEqual([true, true, true]);
    await Promise.all(waiting);
  });

  it('fails with 404 when a waited-on topic is deleted, and 401 on its token being revoked', async () => {
    sut.lanes[0].caughtUp([]);
    const waiting = sut.wait(10_000);
    sut.topicDeleted('b');
    await waiting;
    expect(() => sut.response()).toThrow(
      expect.objectContaining({ status: 404, code: 'TOPIC_NOT_FOUND' }),
    );

    const other = waiterOn(['a']);
    other.tokenRevoked('someone-else');
    other.tokenRevoked('j1');
    await other.wait(10_000);
    expect(() => other.response()).toThrow(
      expect.objectContaining({ status: 401, code: 'TOKEN_REVOKED' }),
    );
  });
});
