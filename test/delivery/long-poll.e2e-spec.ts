import { TestApp } from '../support/app';
import { adminToken, http } from '../support/http';
import {
  BACKENDS,
  createTopic,
  grant,
  makeUser,
  metricValue,
  poll,
  publish,
  publishMany,
  sleep,
  Storage,
  TestUser,
} from './support/fixtures';

jest.setTimeout(90_000);

describe.each(BACKENDS)('Long poll (%s)', (backend) => {
  const storage = new Storage(backend);
  let relay: TestApp;
  let alice: TestUser;

  beforeAll(async () => {
    relay = await storage.start({ 'limits.poll_max_waiters_per_user': 2 });
    alice = await makeUser(relay);
  });

  afterAll(async () => {
    await relay?.close();
    await storage.stop();
  });

  it('wakes up on a live message with the one item shape', async () => {
    const topic = await createTopic(relay, alice.token);
    const started = Date.now();
    const waiting = poll(relay, alice.token, { topics: [topic], timeout: 20 });
    await sleep(300);
    const id = await publish(relay, alice.token, topic, { job: 1 }, { metadata: { k: 'v' } });
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      messages: [
        {
          type: 'message',
          topic,
          message_id: id,
          payload: { job: 1 },
          timestamp: expect.stringMatching(/Z$/),
          metadata: { k: 'v' },
          stream_id: id,
        },
      ],
      has_more: false,
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out with an empty answer', async () => {
    const topic = await createTopic(relay, alice.token);
    const started = Date.now();
    const res = await poll(relay, alice.token, { topics: [topic], timeout: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ messages: [], has_more: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('catches up strictly after `since` at once, with metadata {} and has_more', async () => {
    const topic = await createTopic(relay, alice.token);
    const other = await createTopic(relay, alice.token);
    const ids = await publishMany(relay, alice.token, topic, 150);
    const res = await poll(relay, alice.token, {
      topics: [topic, other],
      since: { [topic]: ids[9], unrelated: 'garbage-is-ignored' },
      timeout: 30,
    });
    expect(res.status).toBe(200);
    expect(res.body.has_more).toBe(true);
    expect(res.body.messages.map((m: any) => m.message_id)).toEqual(ids.slice(10, 110));
    expect(res.body.messages[0].metadata).toEqual({});

    const rest = await poll(relay, alice.token, {
      topics: [topic],
      since: { [topic]: ids[109] },
      timeout: 30,
    });
    expect(rest.body).toMatchObject({ has_more: false });
    expect(rest.body.messages.map((m: any) => m.message_id)).toEqual(ids.slice(110));
  });

  it('delivers 500 messages exactly once and in order to a poller looping with `since`', async () => {
    const topic = await createTopic(relay, alice.token);
    const seed = await publish(relay, alice.token, topic, { seed: true });
    const received: string[] = [];
    let since = seed;
    let producing = true;
    const producer = publishMany(relay, alice.token, topic, 500).finally(() => (producing = false));
    const deadline = Date.now() + 60_000;
    while (received.length < 500 && Date.now() < deadline) {
      const res = await poll(relay, alice.token, {
        topics: [topic],
        since: { [topic]: since },
        timeout: 5,
      });
      expect(res.status).toBe(200);
      for (const item of res.body.messages) received.push(item.message_id);
      if (res.body.messages.length > 0) since = res.body.messages.at(-1).message_id;
      else if (!producing) break;
    }
    const published = await producer;
    expect(received).toEqual(published);
  });

  it('answers 404 for the whole request when one topic is missing or not readable', async () => {
    const bob = await makeUser(relay);
    const mine = await createTopic(relay, alice.token);
    const hidden = await createTopic(relay, bob.token);
    const res = await poll(relay, alice.token, { topics: [mine, hidden], timeout: 1 });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('TOPIC_NOT_FOUND');
    const missing = await poll(relay, alice.token, { topics: ['no_such_topic_here'], timeout: 1 });
    expect(missing.status).toBe(404);
  });

  it('answers a waiting poll 404 when its topic is deleted or its grant revoked', async () => {
    const topic = await createTopic(relay, alice.token);
    const waiting = poll(relay, alice.token, { topics: [topic], timeout: 30 });
    await sleep(300);
    await http(relay.baseUrl, 'DELETE', `/api/v1/topics/${topic}`, { token: alice.token });
    const res = await waiting;
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('TOPIC_NOT_FOUND');

    const reader = await makeUser(relay, ['read']);
    const shared = await createTopic(relay, alice.token);
    await grant(relay, alice.token, shared, reader.userId);
    const granted = poll(relay, reader.token, { topics: [shared], timeout: 30 });
    await sleep(300);
    await http(relay.baseUrl, 'DELETE', `/api/v1/topics/${shared}/permissions/${reader.userId}`, {
      token: alice.token,
    });
    const revoked = await granted;
    expect(revoked.status).toBe(404);
  });

  it('validates the body (422)', async () => {
    const topic = await createTopic(relay, alice.token);
    const bad = [
      { topics: [], timeout: 1 },
      { topics: [topic], timeout: 1.5 },
      { topics: [topic], timeout: 0 },
      { topics: [topic], timeout: 61 },
      { topics: ['bad name'], timeout: 1 },
      { topics: Array.from({ length: 21 }, (_, i) => `t${i}`), timeout: 1 },
      { topics: [topic], since: { [topic]: 'not-an-id' }, timeout: 1 },
      { topics: [topic], since: ['x'], timeout: 1 },
    ];
    for (const body of bad) {
      const res = await poll(relay, alice.token, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 422,
        code: 'VALIDATION_ERROR',
      });
    }
    const writer = await makeUser(relay, ['write']);
    expect((await poll(relay, writer.token, { topics: [topic], timeout: 1 })).status).toBe(403);
  });

  it('caps waiters per user (429) and shows stats of the caller only', async () => {
    const bob = await makeUser(relay);
    const topic = await createTopic(relay, bob.token);
    const waits = [1, 2].map(() => poll(relay, bob.token, { topics: [topic], timeout: 3 }));
    await sleep(300);
    const third = await poll(relay, bob.token, { topics: [topic], timeout: 3 });
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('TOO_MANY_POLLS');
    expect(third.headers.get('retry-after')).toBeTruthy();

    const own = await http(relay.baseUrl, 'GET', '/messages/poll/stats', { token: bob.token });
    expect(own.body).toEqual({
      active_waiters: 2,
      subscribed_topics: 1,
      topic_subscriber_counts: { [topic]: 2 },
    });
    const others = await http(relay.baseUrl, 'GET', '/messages/poll/stats', { token: alice.token });
    expect(others.body).toEqual({
      active_waiters: 0,
      subscribed_topics: 0,
      topic_subscriber_counts: {},
    });
    expect(others.text).not.toContain(topic);
    const admin = await http(relay.baseUrl, 'GET', '/messages/poll/stats', {
      token: await adminToken(relay.baseUrl),
    });
    expect(admin.body.topic_subscriber_counts[topic]).toBe(2);
    expect(await metricValue('relay_poll_waiters_active', {})).toBeGreaterThanOrEqual(2);

    await Promise.all(waits);
    expect((await poll(relay, bob.token, { topics: [topic], timeout: 1 })).status).toBe(200);
  });

  it('counts poll deliveries', async () => {
    const topic = await createTopic(relay, alice.token);
    const ids = await publishMany(relay, alice.token, topic, 4);
    const before = await metricValue('relay_messages_delivered_total', { transport: 'poll' });
    const res = await poll(relay, alice.token, {
      topics: [topic],
      since: { [topic]: ids[0] },
      timeout: 1,
    });
    expect(res.body.messages).toHaveLength(3);
    const after = await metricValue('relay_messages_delivered_total', { transport: 'poll' });
    expect(after - before).toBe(3);
  });
});
