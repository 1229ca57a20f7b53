import { createUser, http, adminToken } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  connectWs,
  readAllMessages,
  sleep,
  SOAK,
  startPublishLoad,
  uniqueTopic,
  waitFor,
  WsClient,
} from '../support/clients';

/**
 * TARGETS.md: "SIGTERM with 1,000 sockets and 1,000 waiting polls: clean drain, sockets closed
 * with 1001, polls answered, exit 0 within the grace period". Short run: 100 of each.
 */

const SOCKETS = SOAK ? 1000 : 100;
const POLLS = SOAK ? 1000 : 100;
const GRACE_S = 10;

interface PollResult {
  status: number;
  body: any;
  error?: string;
}

describe(`SIGTERM with ${SOCKETS} sockets and ${POLLS} waiting polls`, () => {
  jest.setTimeout(SOAK ? 120_000 : 55_000);
  let valkey: ValkeyServer;
  let relay: RelayProcess;
  let reader: RelayProcess | undefined;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'always' });
    relay = await startRelayProcess({
      valkey,
      env: {
        PULSAR_SHUTDOWN_GRACE: String(GRACE_S),
        PULSAR_WS_MAX_PER_USER: String(SOCKETS * 2),
        PULSAR_POLL_MAX_WAITERS_PER_USER: String(POLLS * 2),
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    for (const r of [relay, reader]) r?.kill('SIGKILL');
    await Promise.all([relay?.exited, reader?.exited]);
    await valkey?.stop();
  });

  it('closes every socket with 1001, answers every poll, finishes publishes and exits 0', async () => {
    const user = await createUser(relay.baseUrl, ['read', 'write']);
    const topic = uniqueTopic('drain');
    // Publishes go to another topic, so the polls are still waiting when SIGTERM arrives.
    const busyTopic = uniqueTopic('drain-busy');
    for (const name of [topic, busyTopic]) {
      const created = await http(relay.baseUrl, 'POST', '/api/v1/topics', {
        token: user.token,
        body: { topic_name: name },
      });
      expect(created.status).toBe(201);
    }

    for (let i = 0; i < SOCKETS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, SOCKETS - i) }, () =>
          connectWs(relay.wsUrl, { token: user.token }),
        ),
      );
      sockets.push(...batch);
      const replies = await Promise.all(batch.map((s) => s.subscribe([topic])));
      expect(replies.every((r) => r.type === 'subscribed')).toBe(true);
    }

    const polls: Array<Promise<PollResult>> = Array.from({ length: POLLS }, () =>
      fetch(`${relay.baseUrl}/messages/poll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topics: [topic], timeout: 60 }),
      }).then(
        async (res) => ({ status: res.status, body: await res.json().catch(() => null) }),
        (error: Error) => ({
          status: 0,
          body: null,
          error: `${error.message} ${(error.cause as Error | undefined)?.message ?? ''}`,
        }),
      ),
    );
    const admin = await adminToken(relay.baseUrl);
    await waitFor(async () => {
      const stats = await http(relay.baseUrl, 'GET', '/messages/poll/stats', { token: admin });
      return stats.status === 200 && stats.body.active_waiters >= POLLS;
    }, 15_000).catch(() => sleep(2000));

    const load = startPublishLoad({
      baseUrl: relay.baseUrl,
      token: user.token,
      topics: [busyTopic],
      concurrency: 4,
    });
    await sleep(300);

    const sigtermAt = Date.now();
    relay.kill('SIGTERM');
    const exit = await relay.exited;
    const exitMs = Date.now() - sigtermAt;
    await load.stop();
    const pollResults = await Promise.all(polls);
    await Promise.all(sockets.map((s) => Promise.race([s.closed, sleep(2000)])));

    const closeCodes = new Map<string, number>();
    for (const s of sockets) {
      const key = String(s.closeCode);
      closeCodes.set(key, (closeCodes.get(key) ?? 0) + 1);
    }
    const pollStatuses = new Map<string, number>();
    for (const p of pollResults) {
      const key = p.error ? `error ${p.error.slice(0, 60)}` : String(p.status);
      pollStatuses.set(key, (pollStatuses.get(key) ?? 0) + 1);
    }
    console.log(
      `SIGTERM drain: exit ${JSON.stringify(exit)} after ${exitMs} ms; close codes ${JSON.stringify(
        Object.fromEntries(closeCodes),
      )}; polls ${JSON.stringify(Object.fromEntries(pollStatuses))}; publishes during drain ${JSON.stringify(
        load.outcomes.reduce<Record<string, number>>((acc, o) => {
          acc[o.status] = (acc[o.status] ?? 0) + 1;
          return acc;
        }, {}),
      )}\n`,
    );

    if (exit.code !== 0) {
      console.log(`relay output:\n${(relay.stdout() + relay.stderr()).slice(-2000)}\n`);
    }
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(GRACE_S * 1000);
    expect(Object.fromEntries(closeCodes)).toEqual({ '1001': SOCKETS });
    // Answered, not cut: 200 with an (empty) page, or a contract 503 telling the client to retry.
    for (const p of pollResults) {
      expect(p.error).toBeUndefined();
      if (p.status === 200) {
        expect(Array.isArray(p.body?.messages)).toBe(true);
      } else {
        expect(p.status).toBe(503);
        expect(p.body).toEqual({ detail: expect.any(String), code: expect.any(String) });
      }
    }
    // No publish got a 500 while draining, and every acknowledged one is stored.
    expect(load.outcomes.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    expect(load.acks.length).toBeGreaterThan(0);
    reader = await startRelayProcess({ valkey });
    const stored = new Set(
      (await readAllMessages(reader.baseUrl, user.token, busyTopic)).map((m) => m.message_id),
    );
    expect(load.acks.filter((a) => !stored.has(a.id))).toEqual([]);
  });
});
