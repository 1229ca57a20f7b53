import { createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  compareIds,
  connectWs,
  sleep,
  SOAK,
  startPublishLoad,
  uniqueTopic,
  waitFor,
  WsClient,
} from '../support/clients';

/**
 * TARGETS.md: "a second relay instance dying while the other keeps serving". Two relay processes
 * share one Valkey; A is SIGKILLed under load. B keeps accepting publishes and delivering them
 * (WebSocket and long-poll), including everything A acknowledged before it died, and a client of
 * A resumes on B from its last message id with no gap and no duplicate.
 */
describe('one of two relay instances dies', () => {
  jest.setTimeout(SOAK ? 120_000 : 55_000);
  let valkey: ValkeyServer;
  let a: RelayProcess;
  let b: RelayProcess;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'everysec' });
    [a, b] = await Promise.all([startRelayProcess({ valkey }), startRelayProcess({ valkey })]);
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    a?.kill('SIGKILL');
    b?.kill('SIGKILL');
    await Promise.all([a?.exited, b?.exited]);
    await valkey?.stop();
  });

  function messageIds(client: WsClient): string[] {
    return client.frames.filter((f) => f.type === 'message').map((f) => f.message_id as string);
  }

  it('the survivor keeps serving publishes and deliveries, and clients resume on it', async () => {
    const user = await createUser(a.baseUrl, ['read', 'write']);
    const topic = uniqueTopic('survivor');
    const created = await http(a.baseUrl, 'POST', '/api/v1/topics', {
      token: user.token,
      body: { topic_name: topic },
    });
    expect(created.status).toBe(201);

    const onA = await connectWs(a.wsUrl, { token: user.token });
    const onB = await connectWs(b.wsUrl, { token: user.token });
    sockets.push(onA, onB);
    expect((await onA.subscribe([topic])).type).toBe('subscribed');
    expect((await onB.subscribe([topic])).type).toBe('subscribed');

    const polled: string[] = [];
    let polling = true;
    const poller = (async () => {
      let since = '0-0';
      while (polling) {
        const res = await http(b.baseUrl, 'POST', '/messages/poll', {
          token: user.token,
          body: { topics: [topic], since: { [topic]: since }, timeout: 1 },
        });
        if (res.status !== 200) throw new Error(`poll on B: ${res.status} ${res.text}`);
        for (const m of res.body.messages) {
          polled.push(m.message_id);
          since = m.message_id;
        }
      }
    })();

    const loadA = startPublishLoad({ baseUrl: a.baseUrl, token: user.token, topics: [topic] });
    const loadB = startPublishLoad({ baseUrl: b.baseUrl, token: user.token, topics: [topic] });
    await sleep(SOAK ? 5000 : 1200);
    const killAt = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    await loadA.stop();
    await sleep(SOAK ? 5000 : 1500);
    await loadB.stop();

    // B answered every publish, before and after A died.
    expect(loadB.outcomes.filter((o) => o.status !== 201)).toEqual([]);
    expect(loadB.acks.filter((x) => x.ackedAt > killAt).length).toBeGreaterThan(10);

    const acked = [...loadA.acks, ...loadB.acks].map((x) => x.id).sort(compareIds);
    // B's subscriber gets everything, once, in order (A's acknowledged messages included).
    await waitFor(async () => messageIds(onB).length >= acked.length, 10_000).catch(() => null);
    const gotB = messageIds(onB);
    expect(new Set(gotB).size).toBe(gotB.length);
    for (let i = 1; i < gotB.length; i++) expect(compareIds(gotB[i - 1], gotB[i])).toBe(-1);
    const setB = new Set(gotB);
    expect(acked.filter((id) => !setB.has(id))).toEqual([]);

    // A's client saw its socket drop; it resumes on B from its last id: no gap, no duplicate.
    await onA.closed;
    const seenOnA = messageIds(onA);
    const resumed = await connectWs(b.wsUrl, { token: user.token });
    sockets.push(resumed);
    const last = seenOnA[seenOnA.length - 1];
    expect(
      (await resumed.subscribe([topic], last ? { offset: last } : { offset: 'earliest' })).type,
    ).toBe('subscribed');
    const expectedRest = acked.filter((id) => !last || compareIds(id, last) > 0);
    await waitFor(async () => messageIds(resumed).length >= expectedRest.length, 10_000).catch(
      () => null,
    );
    const combined = [...seenOnA, ...messageIds(resumed)];
    expect(new Set(combined).size).toBe(combined.length);
    const setCombined = new Set(combined);
    expect(acked.filter((id) => !setCombined.has(id))).toEqual([]);

    // The long-poller on B saw everything too.
    await sleep(1500);
    polling = false;
    await poller;
    expect(new Set(polled).size).toBe(polled.length);
    const setPolled = new Set(polled);
    expect(acked.filter((id) => !setPolled.has(id))).toEqual([]);
    console.log(
      `instance death: A acknowledged ${loadA.acks.length}, B ${loadB.acks.length} (${
        loadB.acks.filter((x) => x.ackedAt > killAt).length
      } after A died); B's subscriber got ${gotB.length}, poller ${polled.length}\n`,
    );
  });
});
