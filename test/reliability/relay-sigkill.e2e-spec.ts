import { createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  compareIds,
  readAllMessages,
  sleep,
  SOAK,
  startPublishLoad,
  uniqueTopic,
} from '../support/clients';

/**
 * TARGETS.md: "relay killed with SIGKILL under publish load (Valkey backend): every publish that
 * got a 2xx is in Valkey afterwards". The read-back goes through a fresh relay process.
 */
describe('relay SIGKILL under publish load', () => {
  jest.setTimeout(SOAK ? 180_000 : 50_000);
  let valkey: ValkeyServer;
  const relays: RelayProcess[] = [];

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'everysec' });
  });
  afterAll(async () => {
    for (const r of relays) r.kill('SIGKILL');
    await Promise.all(relays.map((r) => r.exited));
    await valkey?.stop();
  });

  async function relay(): Promise<RelayProcess> {
    const r = await startRelayProcess({ valkey });
    relays.push(r);
    return r;
  }

  it('keeps every acknowledged publish (single and bulk) across kills', async () => {
    const cycles = SOAK ? 5 : 1;
    const loadMs = SOAK ? 5000 : 1500;
    let current = await relay();
    const user = await createUser(current.baseUrl, ['read', 'write']);
    const topics = [uniqueTopic('kill-a'), uniqueTopic('kill-b'), uniqueTopic('kill-c')];
    for (const topic of topics) {
      const res = await http(current.baseUrl, 'POST', '/api/v1/topics', {
        token: user.token,
        body: { topic_name: topic },
      });
      expect(res.status).toBe(201);
    }

    const acked = new Map<string, Set<string>>(topics.map((t) => [t, new Set<string>()]));
    let totalAcked = 0;
    let failedInFlight = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const target = current;
      const load = startPublishLoad({
        baseUrl: target.baseUrl,
        token: user.token,
        topics,
        concurrency: 16,
        bulkEvery: 5,
        bulkSize: 20,
      });
      await sleep(loadMs);
      target.kill('SIGKILL');
      const exit = await target.exited;
      await load.stop();
      expect(exit.signal).toBe('SIGKILL');
      for (const a of load.acks) acked.get(a.topic)!.add(a.id);
      totalAcked += load.acks.length;
      failedInFlight += load.outcomes.filter((o) => o.status === 0).length;
      // No publish answered with a 5xx before the kill.
      expect(load.outcomes.filter((o) => o.status >= 500)).toEqual([]);
      current = await relay();
    }
    expect(totalAcked).toBeGreaterThan(100);
    expect(failedInFlight).toBeGreaterThan(0); // the kill really hit requests in flight

    const missing: string[] = [];
    for (const topic of topics) {
      const stored = await readAllMessages(current.baseUrl, user.token, topic);
      const ids = stored.map((m) => m.message_id);
      for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i - 1], ids[i])).toBe(-1);
      const present = new Set(ids);
      for (const id of acked.get(topic)!) if (!present.has(id)) missing.push(`${topic}/${id}`);
    }
    console.log(
      `relay SIGKILL: ${cycles} kill(s), ${totalAcked} acknowledged, ${failedInFlight} requests cut, ${missing.length} acknowledged missing\n`,
    );
    expect(missing).toEqual([]);
    await current.stop();
  });
});
