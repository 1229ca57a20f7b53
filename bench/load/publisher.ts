/**
 * Load generator: publishes numbered messages over keep-alive HTTP. Each payload carries the
 * publisher id, a sequence number and the send time, so that subscribers can detect loss,
 * duplicates and latency. Modes: `permits` (closed loop, the harness grants each send),
 * `rate` (open loop at a fixed rate), `max` (N concurrent loops), `once` (a single publish).
 */
import * as http from 'node:http';

import {
  cpuSince,
  epochMs,
  PublisherConfig,
  PublisherResult,
  sendToParent,
  workerMain,
} from '../lib/ipc';
import { Samples } from '../lib/stats';

let cfg: PublisherConfig;
let agent: http.Agent;
let url: URL;
let pad = '';
let seq = 0;
let inFlight = 0;
let stopped = false;
let firstSendAt = 0;
let lastAckAt = 0;
let failed = 0;
let firstError: string | null = null;
const statusCodes: Record<string, number> = {};
const ackedSeqs: number[] = [];
const latencies = new Samples();
let cpu0 = process.cpuUsage();
let idleResolvers: (() => void)[] = [];

function publishOne(): Promise<void> {
  const mySeq = seq++;
  const t = epochMs();
  if (!firstSendAt) firstSendAt = t;
  const body = JSON.stringify({
    topic: cfg.topic,
    payload: { pub: cfg.pub, seq: mySeq, t, pad },
  });
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (cfg.token) headers.authorization = `Bearer ${cfg.token}`;
  inFlight++;
  return new Promise<void>((resolve) => {
    const done = (ok: boolean, status: string) => {
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      const now = epochMs();
      if (ok) {
        ackedSeqs.push(mySeq);
        lastAckAt = now;
        latencies.push(now - t);
      } else {
        failed++;
        if (cfg.mode === 'permits') sendToParent({ ev: 'nack', pub: cfg.pub, seq: mySeq });
      }
      inFlight--;
      if (inFlight === 0) {
        for (const r of idleResolvers) r();
        idleResolvers = [];
      }
      resolve();
    };
    const req = http.request(
      { host: url.hostname, port: url.port, path: cfg.path, method: 'POST', headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          if (!ok)
            firstError ??= `${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`;
          done(ok, String(status));
        });
      },
    );
    req.on('error', (err) => {
      firstError ??= err.message;
      done(false, 'error');
    });
    req.end(body);
  });
}

function idle(): Promise<void> {
  if (inFlight === 0) return Promise.resolve();
  return new Promise((r) => idleResolvers.push(r));
}

async function runMax(): Promise<void> {
  const deadline = performance.now() + cfg.durationMs;
  const loop = async () => {
    while (!stopped && performance.now() < deadline && seq < cfg.maxCount) await publishOne();
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, loop));
}

async function runRate(): Promise<void> {
  const t0 = performance.now();
  const interval = 1000 / cfg.rate;
  const total = Math.min(cfg.maxCount, Math.floor((cfg.durationMs / 1000) * cfg.rate));
  for (let i = 0; i < total && !stopped; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    void publishOne();
  }
  await idle();
}

function result(): PublisherResult {
  return {
    ev: 'result',
    pub: cfg.pub,
    sent: seq,
    acked: ackedSeqs.length,
    failed,
    statusCodes,
    firstError,
    ackedSeqs,
    firstSendAt,
    lastAckAt,
    latencyMs: latencies.summary(),
    cpu: cpuSince(cpu0),
  };
}

workerMain(async (msg) => {
  switch (msg.cmd) {
    case 'start': {
      cfg = msg.config as PublisherConfig;
      url = new URL(cfg.baseUrl);
      agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, cfg.concurrency) });
      pad = 'x'.repeat(cfg.padChars);
      cpu0 = process.cpuUsage();
      if (cfg.mode === 'permits') {
        sendToParent({ ev: 'started' });
        return;
      }
      if (cfg.mode === 'once') await publishOne();
      else if (cfg.mode === 'rate') await runRate();
      else await runMax();
      await idle();
      sendToParent(result());
      return;
    }
    case 'permit': {
      const n = Number(msg.n);
      for (let i = 0; i < n && !stopped && seq < cfg.maxCount; i++) void publishOne();
      return;
    }
    case 'stop':
      stopped = true;
      await idle();
      sendToParent(result());
      return;
  }
});
