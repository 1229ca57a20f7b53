import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { MessageStore } from '../../src/storage/ports';
import { TestApp } from '../support/app';
import {
  BACKENDS,
  createTopic,
  eventually,
  makeUser,
  metricValue,
  poll,
  publish,
  sleep,
  Storage,
  TestUser,
} from './support/fixtures';
import { WsClient } from './support/ws-client';

jest.setTimeout(60_000);

function rawSocket(client: WsClient): Socket {
  return (client.ws as unknown as { _socket: Socket })._socket;
}

describe.each(BACKENDS)('WebSocket liveness, backpressure and shutdown (%s)', (backend) => {
  const storage = new Storage(backend);
  const clients: WsClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await storage.stop();
  });

  describe('slow consumer', () => {
    let relay: TestApp;
    let user: TestUser;

    beforeAll(async () => {
      relay = await storage.start({
        'limits.ws_max_buffered_bytes': 64 * 1024,
        'limits.ws_heartbeat_interval': 0,
      });
      user = await makeUser(relay);
    });

    afterAll(async () => {
      await relay?.close();
    });

    it('disconnects a consumer that stops reading with 1013 and a reason', async () => {
      const topic = await createTopic(relay, user.token);
      const slow = await WsClient.connect(relay.wsUrl, { token: user.token });
      const healthy = await WsClient.connect(relay.wsUrl, { token: user.token });
      clients.push(slow, healthy);
      await slow.subscribe({ topics: [topic] });
      await healthy.subscribe({ topics: [topic] });
      rawSocket(slow).pause();

      const store = relay.app.get(MessageStore);
      const before = await metricValue('relay_errors_total', { code: 'SLOW_CONSUMER' });
      const payload = { blob: 'x'.repeat(16 * 1024) };
      let published = 0;
      // Publish until the server gives up on the paused socket (kernel buffers absorb a few MB);
      // in small bursts, so that a consumer that does read never holds more than the bound.
      while ((await metricValue('relay_errors_total', { code: 'SLOW_CONSUMER' })) === before) {
        if (published >= 4000) throw new Error('the slow consumer was never disconnected');
        await Promise.all([1, 2].map(() => store.append({ topic, payload, metadata: {} })));
        published += 2;
        if (published % 50 === 0) await sleep(1);
      }
      // Nothing published after the disconnect is sent to the slow consumer.
      const after = 10;
      for (let i = 0; i < after; i++) await store.append({ topic, payload, metadata: {} });
      published += after;
      // The healthy consumer is unaffected and keeps everything.
      expect(await healthy.messages(topic, published, 30_000)).toHaveLength(published);

      rawSocket(slow).resume();
      const closed = await slow.closed;
      expect(closed.code).toBe(1013);
      expect(closed.reason).toMatch(/slow consumer/i);
      expect(slow.queued('message').length).toBeLessThanOrEqual(published - after);
      await eventually(() => healthy.ws.readyState === healthy.ws.OPEN);
    });
  });

  describe('heartbeat', () => {
    let relay: TestApp;
    let user: TestUser;

    beforeAll(async () => {
      relay = await storage.start({ 'limits.ws_heartbeat_interval': '200ms' });
      user = await makeUser(relay);
    });

    afterAll(async () => {
      await relay?.close();
    });

    it('drops a peer that stops answering pings and keeps a quiet one that answers', async () => {
      const topic = await createTopic(relay, user.token);
      const dead = await WsClient.connect(relay.wsUrl, {
        token: user.token,
        options: { autoPong: false },
      });
      const quiet = await WsClient.connect(relay.wsUrl, { token: user.token });
      clients.push(dead, quiet);
      await quiet.subscribe({ topics: [topic] });

      const closed = await Promise.race([dead.closed, sleep(3000).then(() => null)]);
      expect(closed).not.toBeNull();
      expect(closed?.code).toBe(1006); // terminated: no close frame

      await sleep(1000); // five more heartbeats without a single client frame
      expect(quiet.ws.readyState).toBe(quiet.ws.OPEN);
      const id = await publish(relay, user.token, topic, { still: 'here' });
      expect((await quiet.messages(topic, 1))[0].message_id).toBe(id);
    });
  });

  describe('graceful shutdown', () => {
    it('answers waiting polls, closes sockets with 1001 and refuses newcomers', async () => {
      const relay = await storage.start();
      let closedApp = false;
      try {
        const user = await makeUser(relay);
        const topic = await createTopic(relay, user.token);
        const client = await WsClient.connect(relay.wsUrl, { token: user.token });
        clients.push(client);
        await client.subscribe({ topics: [topic] });
        const started = Date.now();
        const waiting = poll(relay, user.token, { topics: [topic], timeout: 30 });
        await sleep(200);

        const closing = relay.close().then(() => (closedApp = true));
        const newcomer = await new Promise<string>((resolve) => {
          const ws = new WebSocket(`${relay.wsUrl}?token=${user.token}`);
          ws.once('open', () => {
            ws.terminate();
            resolve('accepted');
          });
          ws.once('unexpected-response', (_req, res) => {
            ws.terminate();
            resolve(String(res.statusCode));
          });
          ws.once('error', () => resolve('refused'));
        });
        expect(['503', 'refused']).toContain(newcomer);
        const answer = await waiting;
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ messages: [], has_more: false });
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(await client.closed).toEqual({ code: 1001, reason: 'Server shutting down' });
        await closing;
      } finally {
        if (!closedApp) await relay.close();
      }
    });
  });
});
