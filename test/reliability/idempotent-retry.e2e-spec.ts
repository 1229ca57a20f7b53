import { createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import { readAllMessages, sleep, SOAK, uniqueTopic } from '../support/clients';

/**
 * A client whose publish was cut by a relay crash retries it with the same `Idempotency-Key`
 * (as the official client does) on another instance. Every retry must end in 201, and every
 * message must be stored exactly once: no loss, and no duplicate from the retry.
 * The idempotency window is shortened to 5 s so that claims left by the dead relay expire fast.
 */
describe('idempotent retries after a relay SIGKILL', () => {
  jest.setTimeout(SOAK ? 180_000 : 55_000);
  let valkey: ValkeyServer;
  const relays: RelayProcess[] = [];
  const WINDOW_S = 5;
  const KILLS = SOAK ? 6 : 3;

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'everysec' });
  });
  afterAll(async () => {
    for (const r of relays) r.kill('SIGKILL');
    await Promise.all(relays.map((r) => r.exited));
    await valkey?.stop();
  });

  async function relay(): Promise<RelayProcess> {
    const r = await startRelayProcess({
      valkey,
      env: { PULSAR_IDEMPOTENCY_WINDOW: String(WINDOW_S) },
    });
    relays.push(r);
    return r;
  }

  it('stores every message exactly once when cut publishes are retried with their key', async () => {
    const setup = await relay();
    const user = await createUser(setup.baseUrl, ['read', 'write']);
    const topic = uniqueTopic('idem-retry');
    await http(setup.baseUrl, 'POST', '/api/v1/topics', {
      token: user.token,
      body: { topic_name: topic },
    });

    // Each kill is a chance to land between the stream write and the recording of the response.
    let next = 0;
    const cut: number[] = [];
    const acked = new Set<number>();
    let target = setup;
    for (let cycle = 0; cycle < KILLS; cycle++) {
      let running = true;
      const base = target.baseUrl;
      const loops = Array.from({ length: 32 }, async () => {
        while (running) {
          const k = next++;
          try {
            const res = await fetch(`${base}/api/v1/messages`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${user.token}`,
                'content-type': 'application/json',
                'idempotency-key': `key-${k}`,
              },
              body: JSON.stringify({ topic, payload: { k } }),
            });
            await res.arrayBuffer();
            if (res.status === 201) acked.add(k);
          } catch {
            cut.push(k);
            await sleep(50);
          }
        }
      });
      await sleep(800 + Math.random() * 700);
      target.kill('SIGKILL');
      await target.exited;
      running = false;
      await Promise.all(loops);
      target = await relay();
    }
    expect(cut.length).toBeGreaterThan(0);

    const second = target;
    const started = Date.now();
    const outcomes = await Promise.all(
      cut.map(async (k) => {
        for (;;) {
          const res = await http(second.baseUrl, 'POST', '/api/v1/messages', {
            token: user.token,
            headers: { 'idempotency-key': `key-${k}` },
            body: { topic, payload: { k } },
          });
          // 409: the dead relay's claim has not expired yet; a real client backs off and retries.
          if (res.status === 409 && Date.now() - started < (WINDOW_S + 10) * 1000) {
            await sleep(500);
            continue;
          }
          return { k, status: res.status, ms: Date.now() - started };
        }
      }),
    );
    const stored = await readAllMessages(second.baseUrl, user.token, topic);
    const copies = new Map<number, number>();
    for (const m of stored) copies.set(m.payload.k, (copies.get(m.payload.k) ?? 0) + 1);
    const duplicated = [...copies].filter(([, n]) => n > 1).map(([k]) => k);
    const missing = [...acked, ...cut].filter((k) => !copies.has(k));
    console.log(
      `idempotent retry: ${acked.size} acknowledged before the kills, ${cut.length} cut and retried ` +
        `(slowest retry ${Math.max(...outcomes.map((o) => o.ms))} ms), ${duplicated.length} stored twice, ${missing.length} missing`,
    );

    expect(outcomes.filter((o) => o.status !== 201)).toEqual([]);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
  });
});
