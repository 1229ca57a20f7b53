/**
 * Load generator: opens many concurrent long-polls (one connection each, spread over source
 * addresses) and records when each one is answered and whether the answer carried a message.
 */
import * as http from 'node:http';

import {
  cpuSince,
  epochMs,
  PollersConfig,
  PollersReportEvent,
  PollersSentEvent,
  sendToParent,
  workerMain,
} from '../lib/ipc';

let cfg: PollersConfig;
const answeredAt: number[] = [];
const statusCodes: Record<string, number> = {};
let withMessage = 0;
let failed = 0;
let firstError: string | null = null;
let cpu0 = process.cpuUsage();
const requests: http.ClientRequest[] = [];

/** Starts one long-poll; resolves once its connection is established (or failed). */
function startOne(i: number): Promise<void> {
  const url = new URL(cfg.baseUrl);
  const body = JSON.stringify({ topics: [cfg.topic], timeout: cfg.timeoutSec });
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (cfg.token) headers.authorization = `Bearer ${cfg.token}`;
  const localAddress = cfg.localAddresses.length
    ? cfg.localAddresses[i % cfg.localAddresses.length]
    : undefined;
  return new Promise<void>((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: cfg.path,
        method: 'POST',
        headers,
        agent: false,
        localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          answeredAt.push(epochMs());
          if (answeredAt.length === cfg.count) sendToParent({ ev: 'answered' });
          const status = String(res.statusCode ?? 0);
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              messages?: unknown[];
            };
            if (Array.isArray(parsed.messages) && parsed.messages.length > 0) withMessage++;
            else if (res.statusCode !== 200) firstError ??= `${status} ${JSON.stringify(parsed)}`;
          } catch {
            firstError ??= `${status} unparsable body`;
          }
        });
      },
    );
    req.on('socket', (sock) => {
      if (sock.connecting) sock.once('connect', () => resolve());
      else resolve();
    });
    req.on('error', (err) => {
      failed++;
      firstError ??= err.message;
      resolve();
    });
    req.end(body);
    requests.push(req);
  });
}

async function startAll(): Promise<PollersSentEvent> {
  for (let i = 0; i < cfg.count; i += cfg.connectBatch) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(cfg.count, i + cfg.connectBatch); j++) batch.push(startOne(j));
    await Promise.all(batch);
  }
  cpu0 = process.cpuUsage();
  return { ev: 'sent', sent: requests.length, failed, firstError };
}

function report(): PollersReportEvent {
  return {
    ev: 'report',
    answered: answeredAt.length,
    withMessage,
    statusCodes,
    failed,
    firstError,
    answeredAt,
    cpu: cpuSince(cpu0),
  };
}

workerMain(async (msg) => {
  switch (msg.cmd) {
    case 'start':
      cfg = msg.config as PollersConfig;
      sendToParent(await startAll());
      break;
    case 'report':
      sendToParent(report());
      break;
    case 'close':
      for (const r of requests) r.destroy();
      sendToParent({ ev: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});
