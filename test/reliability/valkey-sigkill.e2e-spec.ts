import { startApp, TestApp } from '../support/app';
import { createUser, http } from '../support/http';
import { AppendFsync, startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  Ack,
  readAllMessages,
  sleep,
  SOAK,
  startPublishLoad,
  uniqueTopic,
  waitFor,
} from '../support/clients';

/**
 * TARGETS.md: Valkey killed with SIGKILL under publish load. `appendfsync always` ⇒ 0 acknowledged
 * messages lost; `everysec` ⇒ only messages acknowledged in the last second before the kill may be
 * lost. The loss window printed here is (kill time − earliest acknowledgement of a lost message).
 * The read-back goes through a fresh relay, so no in-process cache can hide a loss.
 */

const EVERYSEC_BOUND_MS = 1000;
const EVERYSEC_TOLERANCE_MS = 500;

interface Run {
  acked: number;
  lost: Ack[];
  windowMs: number;
  recoveryMs: number;
}

async function killRun(appendfsync: AppendFsync, cycles: number): Promise<Run> {
  const valkey: ValkeyServer = await startValkeyServer({ appendfsync });
  const apps: TestApp[] = [];
  const overrides = {
    'storage.backend': 'valkey',
    'valkey.host': valkey.host,
    'valkey.port': valkey.port,
    'limits.login_per_minute': 0,
    'limits.login_per_ip_per_minute': 0,
  };
  try {
    const writer = await startApp({ overrides });
    apps.push(writer);
    const user = await createUser(writer.baseUrl, ['read', 'write']);
    const topics = [uniqueTopic(`vk-${appendfsync}-a`), uniqueTopic(`vk-${appendfsync}-b`)];
    for (const topic of topics) {
      const res = await http(writer.baseUrl, 'POST', '/api/v1/topics', {
        token: user.token,
        body: { topic_name: topic },
      });
      expect(res.status).toBe(201);
    }

    const acks: Ack[] = [];
    const killTimes: number[] = [];
    let recoveryMs = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const load = startPublishLoad({
        baseUrl: writer.baseUrl,
        token: user.token,
        topics,
        concurrency: 16,
        bulkEvery: 10,
        bulkSize: 10,
        requestTimeoutMs: 5000,
      });
      await sleep(1500);
      const killAt = Date.now();
      await valkey.kill('SIGKILL');
      killTimes.push(killAt);
      await sleep(500);
      await load.stop();
      acks.push(...load.acks);
      // While Valkey is down the relay answers 503, never another 5xx.
      const bad = load.outcomes.filter((o) => o.status >= 500 && o.status !== 503);
      expect(bad).toEqual([]);
      await valkey.restart();
      const restartedAt = Date.now();
      await waitFor(async () => {
        const res = await http(writer.baseUrl, 'GET', '/ready');
        return res.status === 200;
      }, 10_000);
      recoveryMs = Math.max(recoveryMs, Date.now() - restartedAt);
    }

    const reader = await startApp({ overrides });
    apps.push(reader);
    const lost: Ack[] = [];
    for (const topic of topics) {
      const stored = new Set(
        (await readAllMessages(reader.baseUrl, user.token, topic)).map((m) => m.message_id),
      );
      for (const ack of acks) if (ack.topic === topic && !stored.has(ack.id)) lost.push(ack);
    }
    let windowMs = 0;
    for (const ack of lost) {
      // The kill that ended the cycle this acknowledgement belongs to (cycles are seconds apart).
      const killAt = killTimes.find((k) => ack.ackedAt <= k + 1000) ?? killTimes[0];
      windowMs = Math.max(windowMs, killAt - ack.ackedAt);
    }
    return { acked: acks.length, lost, windowMs: Math.max(0, windowMs), recoveryMs };
  } finally {
    for (const app of apps) await app.close();
    await valkey.stop();
  }
}

describe('Valkey SIGKILL under publish load', () => {
  jest.setTimeout(SOAK ? 240_000 : 55_000);
  const cycles = SOAK ? 3 : 1;

  it('appendfsync always: no acknowledged message is lost', async () => {
    const run = await killRun('always', cycles);
    console.log(
      `valkey SIGKILL (appendfsync always): ${run.acked} acknowledged, ${run.lost.length} lost, readiness back ${run.recoveryMs} ms after restart\n`,
    );
    expect(run.acked).toBeGreaterThan(100);
    expect(run.lost.map((a) => a.id)).toEqual([]);
  });

  it('appendfsync everysec: only the last second before the kill may be lost', async () => {
    const run = await killRun('everysec', cycles);
    console.log(
      `valkey SIGKILL (appendfsync everysec): ${run.acked} acknowledged, ${run.lost.length} lost, loss window ${run.windowMs} ms, readiness back ${run.recoveryMs} ms after restart\n`,
    );
    expect(run.acked).toBeGreaterThan(100);
    expect(run.windowMs).toBeLessThanOrEqual(EVERYSEC_BOUND_MS + EVERYSEC_TOLERANCE_MS);
  });
});
