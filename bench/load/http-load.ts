/**
 * Load generator: runs autocannon programmatically against one URL (keep-alive connections,
 * one request in flight per connection) and reports throughput, latency and status codes.
 */
import autocannon from 'autocannon';

import {
  cpuSince,
  epochMs,
  HttpLoadConfig,
  HttpLoadResult,
  sendToParent,
  workerMain,
} from '../lib/ipc';
import { Samples } from '../lib/stats';

interface Phase {
  ok: number;
  samples: Samples;
  firstError: string | null;
}

function runPhase(
  cfg: HttpLoadConfig,
  bound: { duration?: number; amount?: number },
  phase: Phase,
) {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: cfg.url,
        method: cfg.method,
        headers: cfg.headers,
        body: cfg.body,
        connections: cfg.connections,
        timeout: 20,
        ...bound,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        phase.ok++;
        phase.samples.push(responseTime);
      }
    });
    instance.on('reqError', (err) => {
      phase.firstError ??= err.message;
    });
  });
}

workerMain(async (msg) => {
  if (msg.cmd !== 'run') return;
  const cfg = msg.config as HttpLoadConfig;
  if (cfg.warmupSec > 0) {
    await runPhase(
      cfg,
      { duration: cfg.warmupSec },
      { ok: 0, samples: new Samples(), firstError: null },
    );
  }
  const phase: Phase = { ok: 0, samples: new Samples(), firstError: null };
  sendToParent({ ev: 'measuring' });
  const cpu0 = process.cpuUsage();
  const t0 = epochMs();
  const result = await runPhase(
    cfg,
    cfg.amount ? { amount: cfg.amount } : { duration: cfg.durationSec ?? 5 },
    phase,
  );
  const elapsedSec = (epochMs() - t0) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = s.count;
  const out: HttpLoadResult = {
    ev: 'result',
    ok: phase.ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    firstError: phase.firstError,
    elapsedSec,
    okPerSec: phase.ok / elapsedSec,
    latencyMs: phase.samples.summary(),
    cpu: cpuSince(cpu0),
  };
  sendToParent(out);
});
