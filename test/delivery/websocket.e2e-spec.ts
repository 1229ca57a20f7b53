import { TestApp } from '../support/app';
import { adminToken, http } from '../support/http';
import { AckStore } from '../../src/delivery/ack-store';
import { MessageStore } from '../../src/storage/ports';
import {
  BACKENDS,
  createTopic,
  eventually,
  grant,
  makeUser,
  metricValue,
  publish,
  publishMany,
  Storage,
  TestUser,
} from './support/fixtures';
import { refused, WsClient } from './support/ws-client';

jest.setTimeout(60_000);

describe.each(BACKENDS)('WebSocket delivery (%s)', (backend) => {
  const storage = new Storage(backend);
  let relay: TestApp;
  let alice: TestUser;
  const clients: WsClient[] = [];

  async function connect(
    user: TestUser,
    via: 'query' | 'subprotocol' = 'query',
  ): Promise<WsClient> {
    const client = await WsClient.connect(relay.wsUrl, { token: user.token, via });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    relay = await storage.start({
      'limits.ws_max_per_user': 3,
      'limits.ws_max_frame_bytes': 1024,
      'server.trusted_hosts': ['127.0.0.1', 'localhost'],
      'server.allowed_origins': ['https://app.example'],
    });
    alice = await makeUser(relay);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await relay?.close();
    await storage.stop();
  });

  describe('handshake', () => {
    it('accepts ?token= and answers subscribe with a session id', async () => {
      const topic = await createTopic(relay, alice.token);
      const client = await connect(alice, 'query');
      const subscribed = await client.subscribe({ topics: [topic], client_id: 'c1' });
      expect(subscribed).toEqual({
        type: 'subscribed',
        topics: [topic],
        session_id: expect.stringMatching(/^sess_[0-9a-f]{12}$/),
        timestamp: expect.stringMatching(/Z$/),
      });
    });

    it('accepts the bearer subprotocol pair and replies with "bearer"', async () => {
      const topic = await createTopic(relay, alice.token);
      const client = await connect(alice, 'subprotocol');
      expect(client.ws.protocol).toBe('bearer');
      await client.subscribe({ topics: [topic] });
      const id = await publish(relay, alice.token, topic, { hello: 'world' });
      const [message] = await client.messages(topic, 1);
      expect(message).toEqual({
        type: 'message',
        message_id: id,
        topic,
        payload: { hello: 'world' },
        timestamp: expect.stringMatching(/Z$/),
        metadata: {},
      });
    });

    it('refuses before the upgrade with 401/403/429 and a JSON body', async () => {
      const none = await refused(relay.wsUrl);
      expect(none.status).toBe(401);
      expect(none.headers['content-type']).toMatch(/application\/json/);
      expect(none.body).toEqual({ detail: expect.any(String), code: 'NOT_AUTHENTICATED' });

      const bad = await refused(relay.wsUrl, { token: 'not-a-jwt' });
      expect(bad.status).toBe(401);
      expect(bad.body.code).toBe('INVALID_TOKEN');

      const badPair = await refused(relay.wsUrl, { token: 'x.y.z', via: 'subprotocol' });
      expect(badPair.status).toBe(401);

      const writer = await makeUser(relay, ['write']);
      const noRead = await refused(relay.wsUrl, { token: writer.token });
      expect(noRead.status).toBe(403);
      expect(noRead.body.code).toBe('PERMISSION_DENIED');

      const origin = await refused(relay.wsUrl, {
        token: alice.token,
        headers: { Origin: 'https://evil.example' },
      });
      expect(origin.status).toBe(403);
      expect(origin.body.code).toBe('ORIGIN_NOT_ALLOWED');

      const host = await refused(relay.wsUrl, {
        token: alice.token,
        headers: { Host: 'evil.example' },
      });
      expect(host.status).toBe(400);
      expect(host.body.code).toBe('INVALID_HOST');

      const allowed = await WsClient.connect(relay.wsUrl, {
        token: alice.token,
        headers: { Origin: 'https://app.example' },
      });
      clients.push(allowed);
    });

    it('refuses a logged-out (revoked) token', async () => {
      const bob = await makeUser(relay);
      const out = await http(relay.baseUrl, 'POST', '/auth/logout', { token: bob.token });
      expect(out.status).toBe(204);
      const res = await refused(relay.wsUrl, { token: bob.token, via: 'subprotocol' });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('TOKEN_REVOKED');
    });

    it('refuses an inactive user and enforces the per-user connection limit', async () => {
      const carol = await makeUser(relay);
      for (let i = 0; i < 3; i++) await connect(carol);
      const over = await refused(relay.wsUrl, { token: carol.token });
      expect(over.status).toBe(429);
      expect(over.body.code).toBe('TOO_MANY_CONNECTIONS');
      expect(over.headers['retry-after']).toBeDefined();

      const dave = await makeUser(relay);
      const admin = await adminToken(relay.baseUrl);
      const patch = await http(relay.baseUrl, 'PATCH', `/auth/users/${dave.userId}`, {
        token: admin,
        body: { is_active: false },
      });
      expect(patch.status).toBe(200);
      const inactive = await refused(relay.wsUrl, { token: dave.token });
      expect(inactive.status).toBe(403);
      expect(inactive.body.code).toBe('USER_INACTIVE');
    });
  });

  describe('frames', () => {
    it('answers ping with pong', async () => {
      const client = await connect(alice);
      client.send({ type: 'ping' });
      expect(await client.takeType('pong')).toEqual({
        type: 'pong',
        timestamp: expect.stringMatching(/Z$/),
      });
    });

    it('answers malformed, binary, oversized and unknown frames with errors and stays open', async () => {
      const client = await connect(alice);
      client.send('{not json');
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
      client.send(Buffer.from([1, 2, 3]));
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
      client.send('[1,2]');
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
      client.send({ type: 'launch' });
      expect(await client.takeType('error')).toEqual({
        type: 'error',
        code: 'UNKNOWN_MESSAGE_TYPE',
        message: 'Unknown message type: launch',
      });
      client.send({ type: 'subscribe', topics: ['bad name!'] });
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
      client.send({ type: 'subscribe', topics: ['x'], offset: 'yesterday' });
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
      client.send({ type: 'ping', pad: 'x'.repeat(2000) });
      expect(await client.takeType('error')).toMatchObject({ code: 'FRAME_TOO_LARGE' });
      await client.roundTrip();
      expect(client.ws.readyState).toBe(client.ws.OPEN);
    });

    it('subscribes repeatedly, unsubscribes, and stops delivering', async () => {
      const [a, b] = [await createTopic(relay, alice.token), await createTopic(relay, alice.token)];
      const client = await connect(alice);
      expect((await client.subscribe({ topics: [a] })).topics).toEqual([a]);
      expect((await client.subscribe({ topics: [b, a] })).topics).toEqual([b, a]);
      await publish(relay, alice.token, a, { n: 1 });
      await publish(relay, alice.token, b, { n: 2 });
      await client.messages(a, 1);
      await client.messages(b, 1);

      client.send({ type: 'unsubscribe', topics: [a] });
      expect(await client.takeType('unsubscribed')).toEqual({
        type: 'unsubscribed',
        topics: [a],
        timestamp: expect.stringMatching(/Z$/),
      });
      await publish(relay, alice.token, a, { n: 3 });
      const idB = await publish(relay, alice.token, b, { n: 4 });
      expect((await client.messages(b, 1))[0].message_id).toBe(idB);
      await client.roundTrip();
      expect(client.queued('message')).toEqual([]);
    });

    it('denies one topic and serves the others', async () => {
      const bob = await makeUser(relay);
      const mine = await createTopic(relay, alice.token);
      const hidden = await createTopic(relay, bob.token);
      const client = await connect(alice);
      client.send({ type: 'subscribe', topics: [hidden, mine, 'never_created_topic'] });
      const subscribed = await client.takeType('subscribed');
      expect(subscribed.topics).toEqual([mine]);
      const errors = [await client.takeType('error'), await client.takeType('error')];
      expect(errors).toEqual(
        expect.arrayContaining([
          {
            type: 'error',
            code: 'ACCESS_DENIED',
            message: `Access denied to topic '${hidden}'`,
            topic: hidden,
          },
          {
            type: 'error',
            code: 'ACCESS_DENIED',
            message: "Access denied to topic 'never_created_topic'",
            topic: 'never_created_topic',
          },
        ]),
      );
      const id = await publish(relay, alice.token, mine, { ok: true });
      expect((await client.messages(mine, 1))[0].message_id).toBe(id);
    });
  });

  describe('replay', () => {
    it('replays from "earliest" then goes live while a producer publishes: exact ids', async () => {
      const topic = await createTopic(relay, alice.token);
      const store = relay.app.get(MessageStore);
      const append = async (n: number): Promise<string> =>
        (await store.append({ topic, payload: { n }, metadata: {} })).id;
      const before: string[] = [];
      for (let n = 0; n < 1500; n++) before.push(await append(n));
      // A producer in a tight loop, interleaving with the replay's page reads.
      const during: string[] = [];
      const producing = (async () => {
        for (let n = 1500; n < 3000; n++) {
          during.push(await append(n));
          if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const client = await connect(alice);
      await client.subscribe({ topics: [topic], offset: 'earliest' });
      await producing;
      expect(during.length).toBe(1500);
      const expected = [...before, ...during];
      const received = await client.messages(topic, expected.length, 30_000);
      expect(received.map((m) => m.message_id)).toEqual(expected);
      expect(received.map((m) => m.payload.n)).toEqual(expected.map((_, i) => i));
      await client.roundTrip();
      expect(client.queued('message')).toEqual([]);
    });

    it('replays strictly after a given id while a producer publishes: exact ids', async () => {
      const topic = await createTopic(relay, alice.token);
      const before = await publishMany(relay, alice.token, topic, 30);
      const producing = publishMany(relay, alice.token, topic, 200, 30);
      const client = await connect(alice, 'subprotocol');
      await client.subscribe({ topics: [topic], offset: before[9] });
      const after = await producing;
      const expected = [...before.slice(10), ...after];
      const received = await client.messages(topic, expected.length, 30_000);
      expect(received.map((m) => m.message_id)).toEqual(expected);
      await client.roundTrip();
      expect(client.queued('message')).toEqual([]);
    });

    it('with offset "last" delivers only what is published after subscribing', async () => {
      const topic = await createTopic(relay, alice.token);
      await publishMany(relay, alice.token, topic, 5);
      const client = await connect(alice);
      await client.subscribe({ topics: [topic] });
      const ids = await publishMany(relay, alice.token, topic, 3, 5);
      expect((await client.messages(topic, 3)).map((m) => m.message_id)).toEqual(ids);
    });

    it('records acks per client_id and resumes after the last ack with offset "acked"', async () => {
      const topic = await createTopic(relay, alice.token);
      const ids = await publishMany(relay, alice.token, topic, 10);
      const first = await connect(alice);
      await first.subscribe({ topics: [topic], offset: 'earliest', client_id: 'worker-1' });
      await first.messages(topic, 10);
      first.send({ type: 'ack', message_id: ids[3] }); // the only topic: `topic` may be omitted
      first.send({ type: 'ack', message_id: ids[5], topic });
      first.send({ type: 'ack', message_id: ids[4], topic }); // older: ignored
      const acks = relay.app.get(AckStore);
      await eventually(
        async () => (await acks.get(alice.userId, 'worker-1', topic)) === ids[5],
        5000,
        'ack recorded',
      );
      await first.close();

      const later = await publishMany(relay, alice.token, topic, 2, 10);
      const second = await connect(alice);
      await second.subscribe({ topics: [topic], offset: 'acked', client_id: 'worker-1' });
      const expected = [...ids.slice(6), ...later];
      expect((await second.messages(topic, expected.length)).map((m) => m.message_id)).toEqual(
        expected,
      );

      const other = await connect(alice);
      await other.subscribe({ topics: [topic], offset: 'acked', client_id: 'worker-2' });
      expect(await other.messages(topic, 12)).toHaveLength(12); // nothing acked: everything
    });

    it('refuses an ack for a topic that is not subscribed', async () => {
      const client = await connect(alice);
      client.send({ type: 'ack', message_id: '1-0', topic: 'elsewhere' });
      expect(await client.takeType('error')).toMatchObject({ code: 'NOT_SUBSCRIBED' });
      client.send({ type: 'ack', message_id: 'nope' });
      expect(await client.takeType('error')).toMatchObject({ code: 'INVALID_FRAME' });
    });
  });

  describe('live access changes', () => {
    it('ends a subscription when its grant is revoked', async () => {
      const owner = await makeUser(relay);
      const reader = await makeUser(relay, ['read']);
      const topic = await createTopic(relay, owner.token);
      const kept = await createTopic(relay, owner.token, true);
      await grant(relay, owner.token, topic, reader.userId);
      const client = await connect(reader);
      await client.subscribe({ topics: [topic, kept] });
      await publish(relay, owner.token, topic, { n: 1 });
      await client.messages(topic, 1);

      const res = await http(
        relay.baseUrl,
        'DELETE',
        `/api/v1/topics/${topic}/permissions/${reader.userId}`,
        { token: owner.token },
      );
      expect(res.status).toBe(204);
      expect(await client.takeType('error')).toEqual({
        type: 'error',
        code: 'ACCESS_DENIED',
        message: `Access denied to topic '${topic}'`,
        topic,
      });
      await publish(relay, owner.token, topic, { n: 2 });
      const keptId = await publish(relay, owner.token, kept, { n: 3 });
      expect((await client.messages(kept, 1))[0].message_id).toBe(keptId);
      await client.roundTrip();
      expect(client.queued('message')).toEqual([]);
    });

    it('ends a subscription when a public topic is made private', async () => {
      const owner = await makeUser(relay);
      const reader = await makeUser(relay, ['read']);
      const topic = await createTopic(relay, owner.token, true);
      const client = await connect(reader);
      await client.subscribe({ topics: [topic] });
      const res = await http(relay.baseUrl, 'PUT', `/api/v1/topics/${topic}`, {
        token: owner.token,
        body: { is_public: false },
      });
      expect(res.status).toBe(200);
      expect(await client.takeType('error')).toMatchObject({ code: 'ACCESS_DENIED', topic });
    });

    it('sends TOPIC_DELETED when the topic is deleted', async () => {
      const topic = await createTopic(relay, alice.token);
      const client = await connect(alice);
      await client.subscribe({ topics: [topic] });
      const res = await http(relay.baseUrl, 'DELETE', `/api/v1/topics/${topic}`, {
        token: alice.token,
      });
      expect(res.status).toBe(204);
      expect(await client.takeType('error')).toMatchObject({ code: 'TOPIC_DELETED', topic });
    });

    it('closes the sockets of a deactivated user and of a logged-out token (1008)', async () => {
      const erin = await makeUser(relay);
      const topic = await createTopic(relay, erin.token);
      const client = await connect(erin);
      await client.subscribe({ topics: [topic] });
      const admin = await adminToken(relay.baseUrl);
      await http(relay.baseUrl, 'PATCH', `/auth/users/${erin.userId}`, {
        token: admin,
        body: { is_active: false },
      });
      expect(await client.closed).toEqual({ code: 1008, reason: 'User is inactive' });

      const frank = await makeUser(relay);
      const socket = await connect(frank, 'subprotocol');
      const out = await http(relay.baseUrl, 'POST', '/auth/logout', { token: frank.token });
      expect(out.status).toBe(204);
      expect(await socket.closed).toEqual({ code: 1008, reason: 'Token has been revoked' });
    });
  });

  it('counts deliveries and open sockets in the relay metrics', async () => {
    const topic = await createTopic(relay, alice.token);
    const before = await metricValue('relay_messages_delivered_total', { transport: 'websocket' });
    const client = await connect(alice);
    await client.subscribe({ topics: [topic] });
    expect(await metricValue('relay_websocket_connections_active', {})).toBeGreaterThanOrEqual(1);
    await publishMany(relay, alice.token, topic, 3);
    await client.messages(topic, 3);
    const after = await metricValue('relay_messages_delivered_total', { transport: 'websocket' });
    expect(after - before).toBe(3);
    const text = (await http(relay.baseUrl, 'GET', '/metrics')).text;
    expect(text).toMatch(/relay_message_latency_seconds_count\{transport="websocket"\} [1-9]/);
  });
});
