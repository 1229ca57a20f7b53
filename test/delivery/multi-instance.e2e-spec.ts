import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Fanout } from '../../src/delivery/fanout';
import { ControlEvent, MessageBus } from '../../src/storage/ports';
import { cliBinary } from '../support/valkey-server';
import { TestApp } from '../support/app';
import {
  createTopic,
  eventually,
  makeUser,
  poll,
  sleep,
  publishMany,
  Storage,
  TestUser,
} from './support/fixtures';
import { WsClient } from './support/ws-client';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);

/** Ids sorted as stream ids (`<ms>-<seq>`). */
function byId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as < bs ? -1 : as > bs ? 1 : 0;
}

describe.each(['valkey', 'valkey-cluster'] as const)('Two relay instances on one %s', (kind) => {
  const storage = new Storage(kind);
  let a: TestApp;
  let b: TestApp;
  let producer: TestUser;
  let consumer: TestUser;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    a = await storage.start();
    b = await storage.start();
    producer = await makeUser(a);
    consumer = await makeUser(a, ['read']);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await b?.close();
    await a?.close();
    await storage.stop();
  });

  it('delivers what producers publish on A to WebSocket and long-poll consumers on B, once and in order', async () => {
    const topic = await createTopic(a, producer.token, true);
    const quiet = await createTopic(a, producer.token, true);
    const seed = (await publishMany(a, producer.token, topic, 1))[0];

    const live = await WsClient.connect(b.wsUrl, { token: consumer.token, via: 'subprotocol' });
    const replaying = await WsClient.connect(b.wsUrl, { token: consumer.token });
    clients.push(live, replaying);
    await live.subscribe({ topics: [topic, quiet] });
    expect(a.app.get(Fanout).topicCount()).toBe(0); // A has no consumers: it listens to nothing
    expect(b.app.get(Fanout).topicCount()).toBe(2);

    // Two producers on A in parallel; meanwhile a second socket on B replays from the seed.
    const producing = Promise.all([
      publishMany(a, producer.token, topic, 150, 0),
      publishMany(a, producer.token, topic, 150, 1000),
    ]);
    const polled: string[] = [];
    let since = seed;
    let done = false;
    const poller = (async () => {
      const deadline = Date.now() + 90_000;
      while (polled.length < 300 && Date.now() < deadline) {
        const res = await poll(b, consumer.token, {
          topics: [topic, quiet],
          since: { [topic]: since },
          timeout: 5,
        });
        expect(res.status).toBe(200);
        for (const item of res.body.messages) {
          expect(item.topic).toBe(topic);
          polled.push(item.message_id);
        }
        if (res.body.messages.length > 0) since = res.body.messages.at(-1).message_id;
        else if (done) break;
      }
    })();
    await replaying.subscribe({ topics: [topic], offset: seed });

    const expected = (await producing).flat().sort(byId);
    done = true;
    const viaLive = (await live.messages(topic, 300, 60_000)).map((m) => m.message_id);
    const viaReplay = (await replaying.messages(topic, 300, 60_000)).map((m) => m.message_id);
    await poller;
    expect(viaLive).toEqual(expected);
    expect(viaReplay).toEqual(expected);
    expect(polled).toEqual(expected);

    await live.roundTrip();
    await replaying.roundTrip();
    expect(live.queued('message')).toEqual([]);
    expect(replaying.queued('message')).toEqual([]);

    // The last local consumer gone, B stops listening to the topics.
    await live.close();
    await replaying.close();
    await eventually(() => b.app.get(Fanout).topicCount() === 0, 5000, 'B to unsubscribe');
  });

  it('catches up from storage when B loses its pub/sub connection (resync)', async () => {
    const topic = await createTopic(a, producer.token, true);
    const client = await WsClient.connect(b.wsUrl, { token: consumer.token });
    clients.push(client);
    await client.subscribe({ topics: [topic] });
    const producing = publishMany(a, producer.token, topic, 200);
    await sleep(300);
    for (const port of storage.ports()) {
      await execFileAsync(cliBinary(), [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        'CLIENT',
        'KILL',
        'TYPE',
        'pubsub',
      ]);
    }
    const expected = await producing;
    const received = (await client.messages(topic, 200, 30_000)).map((m) => m.message_id);
    expect(received).toEqual(expected);
    await client.roundTrip();
    expect(client.queued('message')).toEqual([]);
    // The control channel comes back too (on a cluster its shard reconnects on its own): a
    // control event from A reaches B again. Later tests rely on it.
    await controlReaches(a, b);
  });

  it('ends subscriptions on B when A deletes the topic', async () => {
    const topic = await createTopic(a, producer.token, true);
    const client = await WsClient.connect(b.wsUrl, { token: consumer.token });
    clients.push(client);
    await client.subscribe({ topics: [topic] });
    const res = await fetch(`${a.baseUrl}/api/v1/topics/${topic}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${producer.token}` },
    });
    expect(res.status).toBe(204);
    expect(await client.takeType('error', 10_000)).toMatchObject({ code: 'TOPIC_DELETED', topic });
  });
});

/** Waits until a control event published by `from` is seen by `to` (their control channel works). */
async function controlReaches(from: TestApp, to: TestApp, timeoutMs = 10_000): Promise<void> {
  const seen: ControlEvent[] = [];
  to.app.get(MessageBus).onControl((event) => seen.push(event));
  const probe = `control-probe-${Date.now()}`;
  await eventually(
    async () => {
      await from.app.get(MessageBus).publishControl({ kind: 'topic-access-changed', topic: probe });
      await sleep(50);
      return seen.some((event) => event.kind === 'topic-access-changed' && event.topic === probe);
    },
    timeoutMs,
    'a control event from A to reach B',
  );
}
