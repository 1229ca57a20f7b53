import { createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  connectWs,
  median,
  readAllMessages,
  sleep,
  SOAK,
  startPublishLoad,
  uniqueTopic,
  WsClient,
} from '../support/clients';

/**
 * TARGETS.md: "10-minute soak at half the measured capacity: RSS growth < 10 %, no file descriptor
 * growth, 0 lost messages". Runs only with PULSAR_SOAK=1 (`npm run test:soak`). Duration and rate
 * can be changed with PULSAR_SOAK_MINUTES and PULSAR_SOAK_RATE (publishes per second).
 */

const MINUTES = Number(process.env.PULSAR_SOAK_MINUTES ?? 10);
const RATE = Number(process.env.PULSAR_SOAK_RATE ?? 300);
const SAMPLE_MS = 10_000;
const WARMUP_MS = Math.min(90_000, (MINUTES * 60_000) / 4);

const describeSoak = SOAK ? describe : describe.skip;

describeSoak(`soak: ${MINUTES} min at ${RATE} publishes/s`, () => {
  jest.setTimeout(MINUTES * 60_000 + 180_000);
  let valkey: ValkeyServer;
  let relay: RelayProcess;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'everysec' });
    relay = await startRelayProcess({ valkey });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    relay?.kill('SIGKILL');
    await relay?.exited;
    await valkey?.stop();
  });

  it('keeps RSS and file descriptors flat and loses nothing', async () => {
    const user = await createUser(relay.baseUrl, ['read', 'write']);
    const topics = Array.from({ length: 4 }, (_, i) => uniqueTopic(`soak${i}`));
    for (const topic of topics) {
      const res = await http(relay.baseUrl, 'POST', '/api/v1/topics', {
        token: user.token,
        body: { topic_name: topic },
      });
      expect(res.status).toBe(201);
    }

    const subscribers = new Map<string, WsClient[]>();
    for (const topic of topics) {
      const pair = await Promise.all(
        [0, 1].map(() => connectWs(relay.wsUrl, { token: user.token })),
      );
      for (const s of pair) expect((await s.subscribe([topic])).type).toBe('subscribed');
      sockets.push(...pair);
      subscribers.set(topic, pair);
    }
    // WebSocket frames are counted, not kept, so the test process stays small.
    const received = new Map<WsClient, Set<string>>();
    for (const s of sockets) {
      const ids = new Set<string>();
      received.set(s, ids);
      s.ws.on('message', () => {
        for (const f of s.frames.splice(0)) if (f.type === 'message') ids.add(f.message_id);
        s.raw.length = 0;
      });
    }

    let running = true;
    const polled = new Map<string, Set<string>>(topics.map((t) => [t, new Set<string>()]));
    const pollErrors: string[] = [];
    const pollers = topics.map(async (topic) => {
      let since = '0-0';
      while (running) {
        const res = await http(relay.baseUrl, 'POST', '/messages/poll', {
          token: user.token,
          body: { topics: [topic], since: { [topic]: since }, timeout: 5 },
        });
        if (res.status !== 200) {
          pollErrors.push(`${res.status} ${res.text.slice(0, 100)}`);
          await sleep(500);
          continue;
        }
        for (const m of res.body.messages) {
          polled.get(topic)!.add(m.message_id);
          since = m.message_id;
        }
      }
    });
    // Connection churn: short-lived sockets and polls must not leak descriptors or memory.
    let churned = 0;
    const churn = (async () => {
      while (running) {
        const s = await connectWs(relay.wsUrl, { token: user.token });
        await s.subscribe([topics[churned % topics.length]]);
        await s.close();
        await http(relay.baseUrl, 'POST', '/messages/poll', {
          token: user.token,
          body: { topics: [topics[0]], timeout: 1 },
        });
        churned++;
        await sleep(1000);
      }
    })();

    const load = startPublishLoad({
      baseUrl: relay.baseUrl,
      token: user.token,
      topics,
      concurrency: 8,
      ratePerSecond: RATE,
    });
    const samples: Array<{ t: number; rss: number; fds: number }> = [];
    const started = Date.now();
    while (Date.now() - started < MINUTES * 60_000) {
      await sleep(SAMPLE_MS);
      samples.push({ t: Date.now() - started, rss: relay.rssBytes(), fds: relay.fdCount() });
    }
    await load.stop();
    await sleep(3000);
    running = false;
    await Promise.all([...pollers, churn]);

    const baseline = samples.filter((s) => s.t >= WARMUP_MS && s.t < WARMUP_MS + 60_000);
    const tail = samples.slice(-6);
    const rssBase = median(baseline.map((s) => s.rss));
    const rssEnd = median(tail.map((s) => s.rss));
    const fdBase = median(baseline.map((s) => s.fds));
    const fdEnd = median(tail.map((s) => s.fds));
    const growth = (rssEnd - rssBase) / rssBase;

    const lost: string[] = [];
    for (const topic of topics) {
      const acked = load.acks.filter((a) => a.topic === topic).map((a) => a.id);
      const stored = new Set(
        (await readAllMessages(relay.baseUrl, user.token, topic)).map((m) => m.message_id),
      );
      for (const id of acked) {
        if (!stored.has(id)) lost.push(`stored ${topic}/${id}`);
        if (!polled.get(topic)!.has(id)) lost.push(`polled ${topic}/${id}`);
        for (const s of subscribers.get(topic)!) {
          if (!received.get(s)!.has(id)) lost.push(`ws ${topic}/${id}`);
        }
      }
    }
    console.log(
      `soak: ${load.acks.length} acknowledged in ${MINUTES} min (${Math.round(
        load.acks.length / (MINUTES * 60),
      )}/s), ${load.outcomes.filter((o) => o.status !== 201).length} non-201, ${churned} churn cycles; RSS ${(
        rssBase /
        2 ** 20
      ).toFixed(
        1,
      )} → ${(rssEnd / 2 ** 20).toFixed(1)} MiB (${(growth * 100).toFixed(1)} %), fds ${fdBase} → ${fdEnd}; lost ${lost.length}; poll errors ${pollErrors.length}\n` +
        `samples (s, MiB, fds): ${samples
          .map((s) => `${Math.round(s.t / 1000)}:${(s.rss / 2 ** 20).toFixed(0)}:${s.fds}`)
          .join(' ')}\n`,
    );

    expect(relay.isRunning).toBe(true);
    expect(load.outcomes.filter((o) => o.status !== 201)).toEqual([]);
    expect(pollErrors).toEqual([]);
    expect(lost.slice(0, 20)).toEqual([]);
    expect(growth).toBeLessThan(0.1);
    expect(fdEnd).toBeLessThanOrEqual(fdBase + 2);
  });
});
