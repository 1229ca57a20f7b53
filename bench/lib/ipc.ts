/**
 * Messages exchanged over the IPC channel between the harness (parent) and its load-generator
 * processes. Every worker answers a command with an event; `error` may come at any time.
 */

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface CpuUsageMs {
  userMs: number;
  systemMs: number;
}

// ---- autocannon worker (bench/load/http-load.ts) -------------------------------------------

export interface HttpLoadConfig {
  url: string;
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body: string;
  connections: number;
  /** Seconds of load to throw away before measuring (0 = none). */
  warmupSec: number;
  /** Either a duration or an amount of requests bounds the measured phase. */
  durationSec?: number;
  amount?: number;
}

export interface HttpLoadResult {
  ev: 'result';
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  firstError: string | null;
  elapsedSec: number;
  okPerSec: number;
  latencyMs: LatencySummary;
  cpu: CpuUsageMs;
}

// ---- WebSocket subscriber worker (bench/load/ws-clients.ts) --------------------------------

export interface WsClientsConfig {
  /** ws://host:port/ws?token=... */
  url: string;
  count: number;
  /** Socket i subscribes to topics[i % topics.length]. */
  topics: string[];
  /** Source addresses to spread connections over (127.0.0.x); empty = kernel's choice. */
  localAddresses: string[];
  connectConcurrency: number;
  /** Report `done` for a sequence number once every socket of this worker received it. */
  reportDone: boolean;
  /** Record publish→delivery latency from the payload's `t` field. */
  recordLatency: boolean;
  /** Identifies this worker in its `done` events. */
  workerIndex: number;
}

export interface WsConnectedEvent {
  ev: 'connected';
  open: number;
  subscribed: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
}

export interface WsDoneEvent {
  ev: 'done';
  workerIndex: number;
  pub: number;
  seq: number;
}

/** Acknowledged sequence numbers per publisher id, sent with the `report` command. */
export type AckedSeqs = Record<string, number[]>;

export interface WsReportEvent {
  ev: 'report';
  sockets: number;
  received: number;
  /** Deliveries of acknowledged messages that were expected but never arrived. */
  lost: number;
  duplicates: number;
  /** Deliveries of messages the publisher never saw acknowledged. */
  unacked: number;
  closedEarly: number;
  latenciesMs: number[];
  cpu: CpuUsageMs;
}

// ---- publisher worker (bench/load/publisher.ts) --------------------------------------------

export type PublishMode = 'permits' | 'rate' | 'max' | 'once';

export interface PublisherConfig {
  baseUrl: string;
  path: string;
  token: string | null;
  topic: string;
  pub: number;
  /** Padding characters added to the payload so that a frame has the wanted size. */
  padChars: number;
  mode: PublishMode;
  rate: number;
  concurrency: number;
  durationMs: number;
  maxCount: number;
}

export interface PublisherResult {
  ev: 'result';
  pub: number;
  sent: number;
  acked: number;
  failed: number;
  statusCodes: Record<string, number>;
  firstError: string | null;
  ackedSeqs: number[];
  /** performance.timeOrigin-based epoch milliseconds. */
  firstSendAt: number;
  lastAckAt: number;
  latencyMs: LatencySummary;
  cpu: CpuUsageMs;
}

// ---- long-poll worker (bench/load/pollers.ts) ----------------------------------------------

export interface PollersConfig {
  baseUrl: string;
  path: string;
  token: string | null;
  topic: string;
  count: number;
  timeoutSec: number;
  connectBatch: number;
  localAddresses: string[];
}

export interface PollersSentEvent {
  ev: 'sent';
  sent: number;
  failed: number;
  firstError: string | null;
}

export interface PollersReportEvent {
  ev: 'report';
  answered: number;
  withMessage: number;
  statusCodes: Record<string, number>;
  failed: number;
  firstError: string | null;
  /** Epoch milliseconds (performance.timeOrigin based) at which each answer was complete. */
  answeredAt: number[];
  cpu: CpuUsageMs;
}

export interface WorkerErrorEvent {
  ev: 'error';
  message: string;
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export function cpuSince(start: NodeJS.CpuUsage): CpuUsageMs {
  const d = process.cpuUsage(start);
  return { userMs: d.user / 1000, systemMs: d.system / 1000 };
}

/** Sends an IPC message; a worker without a channel is a programming error. */
export function sendToParent(msg: object): void {
  if (!process.send) throw new Error('worker started without an IPC channel');
  process.send(msg);
}

/** Runs `main` on the first IPC message and reports any failure as an `error` event. */
export function workerMain(
  onMessage: (msg: Record<string, unknown>) => Promise<void> | void,
): void {
  process.on('message', (raw: unknown) => {
    const msg = raw as Record<string, unknown>;
    Promise.resolve()
      .then(() => onMessage(msg))
      .catch((err: unknown) => {
        sendToParent({ ev: 'error', message: err instanceof Error ? err.stack : String(err) });
      });
  });
  process.on('disconnect', () => process.exit(0));
}
