import * as path from 'node:path';

import type {
  AckedSeqs,
  HttpLoadResult,
  LatencySummary,
  PollersReportEvent,
  PollersSentEvent,
  PublisherConfig,
  PublisherResult,
  WsConnectedEvent,
  WsDoneEvent,
  WsReportEvent,
} from './ipc';
import { epochMs } from './ipc';
import { hardFdLimit, openFds, ProcSampler, rssMiB, sleep, stopAll, Worker } from './proc';
import type { Sizes } from './sizes';
import { median, sum, summarize } from './stats';
import { ReferenceProgram, startReference, startRelayTarget, Target } from './target';
import { BenchValkey, flushValkey, valkeyCpuSeconds } from './valkey';

// ---- result model ----------------------------------------------------------------------------

/** What one side (relay or reference) showed in one run. */
export interface SideResult {
  /** Primary figure per metric key. */
  figures: Record<string, number>;
  latencyMs?: LatencySummary;
  serverCpuPct?: number;
  serverRssMiB?: number;
  valkeyCpuPct?: number;
  loadCpuPct?: number;
  /** Whole machine busy during the measured window: shows runs disturbed by other work. */
  machineBusyPct?: number;
  /** Measured window on CLOCK_MONOTONIC (µs), used to cut CPU profiles to it. */
  windowMonoUs?: [number, number];
  lost: number;
  duplicated: number;
  errors: number;
  notes: Record<string, number | string>;
}

export interface RunResult {
  scenario: string;
  run: number;
  reference: SideResult | null;
  relay: SideResult | null;
  referenceError?: string;
  relayError?: string;
  elapsedSec: number;
}

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Text from TARGETS.md. */
  target: string;
  /** Pass/short on the medians of all runs (counters are summed over runs). */
  check(m: {
    relay: number;
    reference: number;
    ratio: number;
    lost: number;
    duplicated: number;
  }): boolean;
}

export interface BenchContext {
  sizes: Sizes;
  quick: boolean;
  run: number;
  logDir: string;
  valkey(): Promise<BenchValkey>;
  /** Directory for the relay's CPU profile when this scenario is being profiled. */
  profileDir(scenario: string): string | undefined;
  log(msg: string): void;
}

export interface ScenarioDef {
  name: string;
  title: string;
  /** What the reference column is for this row. */
  referenceLabel: string;
  metrics: MetricDef[];
  /** Relay notes worth showing beside the figure (medians over runs), e.g. the socket count. */
  noteKeys?: string[];
  /** Run without CPU pinning (see `setPinning`). */
  unpinned?: true;
  run(ctx: BenchContext): Promise<RunResult>;
}

// ---- helpers ---------------------------------------------------------------------------------

const INGEST_TOPIC = 'bench-ingest';

/** Fresh loopback source addresses (127.0.x.y) so no run starves another of ephemeral ports. */
let addressCounter = 0;
function sourceAddresses(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = addressCounter++ % 60_000;
    out.push(`127.0.${1 + Math.floor(k / 250)}.${2 + (k % 250)}`);
  }
  return out;
}

/** A single-message body of 195 bytes, as in TARGETS.md's reference figures. */
export function singleBody(topic: string, bytes = 195): string {
  const make = (pad: string) =>
    JSON.stringify({
      topic,
      payload: { sensor: 's-0042', reading: 21.5, unit: 'C', ts: 1732530000000, note: pad },
    });
  return make('x'.repeat(Math.max(0, bytes - Buffer.byteLength(make('')))));
}

function bulkBody(topic: string, n: number): string {
  const one = JSON.parse(singleBody(topic)) as unknown;
  return JSON.stringify({ messages: Array.from({ length: n }, () => one) });
}

/** Padding that makes the relay's `message` frame about `bytes` long. */
function padForFrame(topic: string, bytes: number): number {
  const sample = JSON.stringify({
    type: 'message',
    message_id: `${Date.now()}-0`,
    topic,
    payload: { pub: 0, seq: 1000, t: epochMs(), pad: '' },
    timestamp: new Date().toISOString(),
    metadata: {},
  });
  return Math.max(0, bytes - Buffer.byteLength(sample));
}

function emptySide(): SideResult {
  return { figures: {}, lost: 0, duplicated: 0, errors: 0, notes: {} };
}

function loadCpuPct(cpus: { userMs: number; systemMs: number }[], seconds: number): number {
  return (100 * sum(cpus.map((c) => c.userMs + c.systemMs))) / 1000 / seconds;
}

async function valkeyWindow(valkey: BenchValkey | undefined): Promise<() => Promise<number>> {
  if (!valkey) return async () => NaN;
  const c0 = await valkeyCpuSeconds(valkey);
  const t0 = performance.now();
  return async () =>
    (100 * ((await valkeyCpuSeconds(valkey)) - c0)) / ((performance.now() - t0) / 1000);
}

async function withTarget<T>(
  start: () => Promise<Target>,
  fn: (t: Target) => Promise<T>,
): Promise<T> {
  const target = await start();
  try {
    return await fn(target);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${target.name}: ${msg}\n--- server log tail ---\n${target.logTail()}`);
  } finally {
    await target.stop();
  }
}

/** Measures both sides in the same run; a failing side is recorded, not fatal. */
async function sideBySide(
  ctx: BenchContext,
  scenario: string,
  reference: () => Promise<SideResult>,
  relay: () => Promise<SideResult>,
): Promise<RunResult> {
  const t0 = performance.now();
  const out: RunResult = { scenario, run: ctx.run, reference: null, relay: null, elapsedSec: 0 };
  const measureReference = async () => {
    try {
      out.reference = await reference();
    } catch (err) {
      out.referenceError = err instanceof Error ? err.message : String(err);
      ctx.log(`  reference failed: ${out.referenceError}`);
    }
  };
  const measureRelay = async () => {
    try {
      out.relay = await relay();
    } catch (err) {
      out.relayError = err instanceof Error ? err.message : String(err);
      ctx.log(`  relay failed: ${out.relayError}`);
    }
  };
  // Alternate the order between runs so that a drift in background load favours neither side.
  if (ctx.run % 2 === 1) {
    await measureReference();
    await measureRelay();
  } else {
    await measureRelay();
    await measureReference();
  }
  out.elapsedSec = (performance.now() - t0) / 1000;
  return out;
}

/** One turn of HTTP load: its own warm-up, then a bound in time or in count. */
interface LoadSlice {
  warmupSec: number;
  durationSec?: number;
  amount?: number;
}

/** Turns per side in `takingTurns`. */
const TURNS = 3;

/** A side's load split into `TURNS` turns: the first keeps the warm-up, the others warm up briefly. */
function loadSlices(s: { warmupSec: number; durationSec?: number; amount?: number }): LoadSlice[] {
  return Array.from({ length: TURNS }, (_, i) => ({
    warmupSec: i === 0 ? s.warmupSec : Math.min(s.warmupSec, 0.5),
    durationSec: s.durationSec === undefined ? undefined : s.durationSec / TURNS,
    amount: s.amount === undefined ? undefined : Math.ceil(s.amount / TURNS),
  }));
}

/**
 * Folds a side's turns into one result (`seconds`: each turn's measured time): rates over the
 * summed time, CPU weighted by time, RSS at its peak, latency percentiles weighted by the answers of each turn (an
 * approximation: the turns' histograms are not kept).
 */
function mergeTurns(turns: SideResult[], seconds: number[]): SideResult {
  const total = sum(seconds);
  const weighted = (get: (t: SideResult) => number | undefined, w: number[]): number =>
    sum(turns.map((t, i) => (get(t) ?? NaN) * w[i])) / sum(w);
  const out = emptySide();
  for (const key of Object.keys(turns[0].figures)) {
    out.figures[key] = weighted((t) => t.figures[key], seconds);
  }
  const counts = turns.map((t) => t.latencyMs?.count ?? 0);
  if (turns.every((t) => t.latencyMs)) {
    const at = (k: keyof LatencySummary) => weighted((t) => t.latencyMs?.[k], counts);
    out.latencyMs = {
      count: sum(counts),
      p50: at('p50'),
      p95: at('p95'),
      p99: at('p99'),
      max: Math.max(...turns.map((t) => t.latencyMs?.max ?? 0)),
      mean: at('mean'),
    };
  }
  out.serverCpuPct = weighted((t) => t.serverCpuPct, seconds);
  out.machineBusyPct = weighted((t) => t.machineBusyPct, seconds);
  out.valkeyCpuPct = weighted((t) => t.valkeyCpuPct, seconds);
  out.loadCpuPct = weighted((t) => t.loadCpuPct, seconds);
  out.serverRssMiB = Math.max(...turns.map((t) => t.serverRssMiB ?? 0));
  const windows = turns.map((t) => t.windowMonoUs).filter((w) => w !== undefined);
  if (windows.length > 0) out.windowMonoUs = [windows[0][0], windows[windows.length - 1][1]];
  out.errors = sum(turns.map((t) => t.errors));
  out.lost = sum(turns.map((t) => t.lost));
  out.duplicated = sum(turns.map((t) => t.duplicated));
  const ok = sum(turns.map((t) => Number(t.notes.ok)));
  out.notes = {
    ...turns[turns.length - 1].notes,
    requestsPerSec: Math.round(ok / total),
    ok,
    measuredSec: total,
    turns: turns.length,
  };
  return out;
}

/**
 * Both sides up at once, measured in turns (A B B A B A ...; which side opens alternates between
 * runs), so that a change in the machine's speed during the run falls on both sides alike: on a
 * shared 2-core VM the same program's rate moved by up to 2 x between back-to-back windows of
 * ~20 s (bench/FINDINGS.md). Only the side whose turn it is gets load. A failing side is recorded,
 * not fatal, as in `sideBySide`.
 */
async function takingTurns(
  ctx: BenchContext,
  scenario: string,
  startReferenceSide: () => Promise<Target>,
  startRelaySide: () => Promise<Target>,
  slices: LoadSlice[],
  measureSlice: (target: Target, slice: LoadSlice) => Promise<SideResult>,
): Promise<RunResult> {
  const t0 = performance.now();
  const out: RunResult = { scenario, run: ctx.run, reference: null, relay: null, elapsedSec: 0 };
  const start = async (side: 'reference' | 'relay'): Promise<Target | null> => {
    try {
      return await (side === 'reference' ? startReferenceSide() : startRelaySide());
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (side === 'reference') out.referenceError = msg;
      else out.relayError = msg;
      ctx.log(`  ${side} failed: ${msg}`);
      return null;
    }
  };
  const targets = { reference: await start('reference'), relay: await start('relay') };
  const turns: Record<'reference' | 'relay', { results: SideResult[]; seconds: number[] }> = {
    reference: { results: [], seconds: [] },
    relay: { results: [], seconds: [] },
  };
  type Side = 'reference' | 'relay';
  const first: Side = ctx.run % 2 === 1 ? 'reference' : 'relay';
  const second: Side = first === 'reference' ? 'relay' : 'reference';
  try {
    for (let i = 0; i < slices.length; i++) {
      const order: Side[] = i % 2 === 0 ? [first, second] : [second, first];
      for (const side of order) {
        const target = targets[side];
        if (!target) continue;
        try {
          const result = await measureSlice(target, slices[i]);
          turns[side].results.push(result);
          turns[side].seconds.push(Number(result.notes.measuredSec));
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          const full = `${target.name}: ${msg}\n--- server log tail ---\n${target.logTail()}`;
          if (side === 'reference') out.referenceError = full;
          else out.relayError = full;
          ctx.log(`  ${side} failed: ${full}`);
          await target.stop();
          targets[side] = null;
        }
      }
    }
  } finally {
    await Promise.all([targets.reference?.stop(), targets.relay?.stop()]);
  }
  for (const side of ['reference', 'relay'] as const) {
    const { results, seconds } = turns[side];
    if (targets[side] && results.length === slices.length) out[side] = mergeTurns(results, seconds);
  }
  out.elapsedSec = (performance.now() - t0) / 1000;
  return out;
}

function relayStarter(
  ctx: BenchContext,
  scenario: string,
  backend: 'memory' | 'valkey',
  valkey?: BenchValkey,
  name = 'relay',
): () => Promise<Target> {
  return () =>
    startRelayTarget({
      name: `${name}-${scenario}-run${ctx.run}`,
      backend,
      valkey,
      logDir: ctx.logDir,
      cpuProfileDir: ctx.profileDir(scenario),
    });
}

// ---- WebSocket subscriber fleets -------------------------------------------------------------

interface Fleet {
  workers: Worker[];
  connected: WsConnectedEvent[];
  subscribed: number;
}

async function startFleet(
  target: Target,
  opts: {
    count: number;
    procs: number;
    topics: string[];
    concurrency: number;
    reportDone: boolean;
    recordLatency: boolean;
    addressesPerProc?: number;
  },
): Promise<Fleet> {
  const workers: Worker[] = [];
  const per = Math.ceil(opts.count / opts.procs);
  const pending: Promise<WsConnectedEvent>[] = [];
  for (let i = 0; i < opts.procs; i++) {
    const count = Math.min(per, opts.count - i * per);
    if (count <= 0) break;
    const w = new Worker(`ws-clients-${i}`, 'load/ws-clients');
    workers.push(w);
    pending.push(
      w.request<WsConnectedEvent>(
        {
          cmd: 'connect',
          config: {
            url: target.wsUrl,
            count,
            topics: opts.topics,
            localAddresses: sourceAddresses(opts.addressesPerProc ?? 1),
            connectConcurrency: opts.concurrency,
            reportDone: opts.reportDone,
            recordLatency: opts.recordLatency,
            workerIndex: i,
          },
        },
        'connected',
        180_000,
      ),
    );
  }
  try {
    const connected = await Promise.all(pending);
    const subscribed = sum(connected.map((c) => c.subscribed));
    if (subscribed < opts.count) {
      const firstError = connected.find((c) => c.firstError)?.firstError;
      throw new Error(`only ${subscribed}/${opts.count} subscribers subscribed (${firstError})`);
    }
    return { workers, connected, subscribed };
  } catch (err) {
    await stopAll(workers);
    throw err;
  }
}

async function fleetReport(
  fleet: Fleet,
  acked: AckedSeqs,
  light: boolean,
): Promise<WsReportEvent[]> {
  return Promise.all(
    fleet.workers.map((w) =>
      w.request<WsReportEvent>({ cmd: 'report', acked, light }, 'report', 60_000),
    ),
  );
}

/** Waits (bounded) until every acknowledged message reached every subscriber, then reports. */
async function drainFleet(
  fleet: Fleet,
  acked: AckedSeqs,
  timeoutMs: number,
): Promise<WsReportEvent[]> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const light = await fleetReport(fleet, acked, true);
    if (sum(light.map((r) => r.lost)) === 0) break;
    await sleep(100);
  }
  return fleetReport(fleet, acked, false);
}

async function closeFleet(fleet: Fleet): Promise<void> {
  await Promise.all(
    fleet.workers.map((w) => w.request({ cmd: 'close' }, 'closed', 10_000).catch(() => undefined)),
  );
  await stopAll(fleet.workers);
}

function publisherConfig(target: Target, over: Partial<PublisherConfig>): PublisherConfig {
  return {
    baseUrl: target.baseUrl,
    path: '/api/v1/messages',
    token: target.token,
    topic: 'bench-fanout',
    pub: 0,
    padChars: 0,
    mode: 'once',
    rate: 0,
    concurrency: 1,
    durationMs: 0,
    maxCount: Number.MAX_SAFE_INTEGER,
    ...over,
  };
}

// ---- scenario: HTTP ingest (single and bulk, memory and Valkey) ------------------------------

function ingestScenario(
  name: string,
  title: string,
  backend: 'memory' | 'valkey',
  bulk: boolean,
): ScenarioDef {
  const program: ReferenceProgram = backend === 'memory' ? 'http-parse' : 'http-xadd';
  const metric: MetricDef = bulk
    ? {
        key: 'msgPerSec',
        label: 'messages/s (bulk of 100)',
        unit: 'msg/s',
        better: 'higher',
        target: backend === 'memory' ? '≥ 100,000 msg/s' : '≥ 60,000 msg/s',
        check: (m) => m.relay >= (backend === 'memory' ? 100_000 : 60_000),
      }
    : backend === 'memory'
      ? {
          key: 'msgPerSec',
          label: 'messages/s',
          unit: 'msg/s',
          better: 'higher',
          target: '≥ 0.35 × raw parse-only ingest and ≥ 15,000 msg/s',
          check: (m) => m.ratio >= 0.35 && m.relay >= 15_000,
        }
      : {
          key: 'msgPerSec',
          label: 'messages/s',
          unit: 'msg/s',
          better: 'higher',
          target: '≥ 0.50 × raw ingest + XADD',
          check: (m) => m.ratio >= 0.5,
        };

  const measure = async (
    ctx: BenchContext,
    target: Target,
    slice: LoadSlice,
    valkey?: BenchValkey,
  ): Promise<SideResult> => {
    const s = bulk ? ctx.sizes.bulk : ctx.sizes.http;
    const batch = bulk ? ctx.sizes.bulk.batch : 1;
    await target.ensureTopics([INGEST_TOPIC]);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    const worker = new Worker('autocannon', 'load/http-load');
    const sampler = new ProcSampler(target.pid);
    let valkeyCpu: Promise<() => Promise<number>> = Promise.resolve(async () => NaN);
    worker.on('measuring', () => {
      sampler.start();
      valkeyCpu = valkeyWindow(valkey);
    });
    try {
      const r = await worker.request<HttpLoadResult>(
        {
          cmd: 'run',
          config: {
            url: `${target.baseUrl}/api/v1/messages${bulk ? '/bulk' : ''}`,
            method: 'POST',
            headers,
            body: bulk ? bulkBody(INGEST_TOPIC, batch) : singleBody(INGEST_TOPIC),
            connections: s.connections,
            ...slice,
          },
        },
        'result',
        120_000,
      );
      const win = sampler.stop();
      const side = emptySide();
      side.figures.msgPerSec = r.okPerSec * batch;
      side.latencyMs = r.latencyMs;
      side.serverCpuPct = win.cpuPct;
      side.machineBusyPct = win.machineBusyPct;
      side.windowMonoUs = win.monoUs;
      side.serverRssMiB = win.peakRssMiB;
      side.valkeyCpuPct = await (await valkeyCpu)();
      side.loadCpuPct = loadCpuPct([r.cpu], r.elapsedSec);
      side.errors = r.non2xx + r.errors;
      side.notes = {
        requestsPerSec: Math.round(r.okPerSec),
        ok: r.ok,
        measuredSec: r.elapsedSec,
        statusCodes: JSON.stringify(r.statusCodes),
      };
      if (r.firstError) side.notes.firstError = r.firstError;
      if (r.ok === 0)
        throw new Error(`no 2xx answer (${JSON.stringify(r.statusCodes)}, ${r.firstError})`);
      return side;
    } finally {
      await worker.stop();
    }
  };

  return {
    name,
    title,
    referenceLabel:
      backend === 'memory' ? 'raw node:http + JSON.parse' : 'raw node:http + ioredis XADD MAXLEN ~',
    metrics: [metric],
    async run(ctx) {
      const valkey = backend === 'valkey' ? await ctx.valkey() : undefined;
      if (valkey) await flushValkey(valkey);
      const s = bulk ? ctx.sizes.bulk : ctx.sizes.http;
      return takingTurns(
        ctx,
        name,
        () => startReference(program, ctx.logDir, valkey),
        relayStarter(ctx, name, backend, valkey),
        loadSlices(s),
        (target, slice) => measure(ctx, target, slice, valkey),
      );
    },
  };
}

// ---- scenario: fan-out closed loop -----------------------------------------------------------

const FANOUT_TOPIC = 'bench-fanout';

async function fanoutMeasure(ctx: BenchContext, target: Target): Promise<SideResult> {
  const s = ctx.sizes.fanout;
  await target.ensureTopics([FANOUT_TOPIC]);
  const fleet = await startFleet(target, {
    count: s.subscribers,
    procs: s.procs,
    topics: [FANOUT_TOPIC],
    concurrency: 50,
    reportDone: true,
    recordLatency: true,
  });
  const pub = new Worker('publisher', 'load/publisher');
  try {
    await pub.request(
      {
        cmd: 'start',
        config: publisherConfig(target, {
          topic: FANOUT_TOPIC,
          mode: 'permits',
          concurrency: s.window,
          padChars: padForFrame(FANOUT_TOPIC, 200),
          maxCount: s.maxMessages,
        }),
      },
      'started',
      10_000,
    );
    const doneBy = new Map<number, number>();
    let stopping = false;
    let completed = 0;
    let lastDoneAt = 0;
    for (const w of fleet.workers) {
      w.on('done', (raw) => {
        const m = raw as unknown as WsDoneEvent;
        const n = (doneBy.get(m.seq) ?? 0) + 1;
        if (n < fleet.workers.length) {
          doneBy.set(m.seq, n);
          return;
        }
        doneBy.delete(m.seq);
        completed++;
        lastDoneAt = epochMs();
        if (!stopping) pub.send({ cmd: 'permit', n: 1 });
      });
    }
    pub.on('nack', () => {
      if (!stopping) pub.send({ cmd: 'permit', n: 1 });
    });
    const sampler = new ProcSampler(target.pid).start();
    const t0 = epochMs();
    pub.send({ cmd: 'permit', n: s.window });
    await sleep(s.durationSec * 1000);
    stopping = true;
    const res = await pub.request<PublisherResult>({ cmd: 'stop' }, 'result', 30_000);
    const win = sampler.stop();
    const reports = await drainFleet(fleet, { [res.pub]: res.ackedSeqs }, 5000);
    const received = sum(reports.map((r) => r.received));
    const elapsedSec = ((lastDoneAt || epochMs()) - t0) / 1000;
    const side = emptySide();
    side.figures.deliveriesPerSec = received / elapsedSec;
    side.latencyMs = summarize(reports.flatMap((r) => r.latenciesMs));
    side.serverCpuPct = win.cpuPct;
    side.machineBusyPct = win.machineBusyPct;
    side.windowMonoUs = win.monoUs;
    side.serverRssMiB = win.peakRssMiB;
    side.loadCpuPct = loadCpuPct([res.cpu, ...reports.map((r) => r.cpu)], elapsedSec);
    side.lost = sum(reports.map((r) => r.lost));
    side.duplicated = sum(reports.map((r) => r.duplicates));
    side.errors = res.failed;
    side.notes = {
      subscribers: fleet.subscribed,
      published: res.acked,
      completedLoops: completed,
      received,
      publishP99Ms: res.latencyMs.p99,
    };
    if (res.firstError) side.notes.firstError = res.firstError;
    if (received === 0)
      throw new Error(`no delivery (${res.firstError ?? 'publisher saw no error'})`);
    return side;
  } finally {
    await pub.stop();
    await closeFleet(fleet);
  }
}

const fanout: ScenarioDef = {
  name: 'fanout',
  title: 'Fan-out to 1,000 WebSocket subscribers, closed loop',
  referenceLabel: 'raw ws broadcast',
  noteKeys: ['subscribers', 'published'],
  metrics: [
    {
      key: 'deliveriesPerSec',
      label: 'deliveries/s',
      unit: 'deliveries/s',
      better: 'higher',
      target: '≥ 0.60 × raw ws fan-out, 0 lost',
      check: (m) => m.ratio >= 0.6 && m.lost === 0 && m.duplicated === 0,
    },
  ],
  run: (ctx) =>
    sideBySide(
      ctx,
      'fanout',
      () =>
        withTarget(
          () => startReference('ws-broadcast', ctx.logDir),
          (t) => fanoutMeasure(ctx, t),
        ),
      () => withTarget(relayStarter(ctx, 'fanout', 'memory'), (t) => fanoutMeasure(ctx, t)),
    ),
};

// ---- scenario: publish → delivery latency at a fixed rate -----------------------------------

async function latencyMeasure(ctx: BenchContext, target: Target): Promise<SideResult> {
  const s = ctx.sizes.latency;
  await target.ensureTopics([FANOUT_TOPIC]);
  const fleet = await startFleet(target, {
    count: s.subscribers,
    procs: s.procs,
    topics: [FANOUT_TOPIC],
    concurrency: 50,
    reportDone: false,
    recordLatency: true,
  });
  const pub = new Worker('publisher', 'load/publisher');
  try {
    const rate = s.deliveriesPerSec / s.subscribers;
    const sampler = new ProcSampler(target.pid).start();
    const res = await pub.request<PublisherResult>(
      {
        cmd: 'start',
        config: publisherConfig(target, {
          topic: FANOUT_TOPIC,
          mode: 'rate',
          rate,
          concurrency: 16,
          durationMs: s.durationSec * 1000,
          padChars: padForFrame(FANOUT_TOPIC, 200),
        }),
      },
      'result',
      s.durationSec * 1000 + 60_000,
    );
    const reports = await drainFleet(fleet, { [res.pub]: res.ackedSeqs }, 5000);
    const win = sampler.stop();
    const side = emptySide();
    side.latencyMs = summarize(reports.flatMap((r) => r.latenciesMs));
    side.figures.p99Ms = side.latencyMs.p99;
    side.serverCpuPct = win.cpuPct;
    side.machineBusyPct = win.machineBusyPct;
    side.windowMonoUs = win.monoUs;
    side.serverRssMiB = win.peakRssMiB;
    side.loadCpuPct = loadCpuPct([res.cpu, ...reports.map((r) => r.cpu)], s.durationSec);
    side.lost = sum(reports.map((r) => r.lost));
    side.duplicated = sum(reports.map((r) => r.duplicates));
    side.errors = res.failed;
    side.notes = {
      subscribers: fleet.subscribed,
      offeredDeliveriesPerSec: s.deliveriesPerSec,
      published: res.acked,
      received: sum(reports.map((r) => r.received)),
      publishP99Ms: res.latencyMs.p99,
    };
    if (res.firstError) side.notes.firstError = res.firstError;
    if (!side.latencyMs.count)
      throw new Error(`no delivery (${res.firstError ?? 'publisher saw no error'})`);
    return side;
  } finally {
    await pub.stop();
    await closeFleet(fleet);
  }
}

const latency: ScenarioDef = {
  name: 'latency',
  title: 'Publish → WebSocket delivery latency, 1,000 subscribers at 10,000 deliveries/s',
  referenceLabel: 'raw ws broadcast, same offered rate',
  noteKeys: ['subscribers', 'published'],
  metrics: [
    {
      key: 'p99Ms',
      label: 'p99 publish→delivery',
      unit: 'ms',
      better: 'lower',
      target: 'p99 ≤ 50 ms',
      check: (m) => m.relay <= 50,
    },
  ],
  run: (ctx) =>
    sideBySide(
      ctx,
      'latency',
      () =>
        withTarget(
          () => startReference('ws-broadcast', ctx.logDir),
          (t) => latencyMeasure(ctx, t),
        ),
      () => withTarget(relayStarter(ctx, 'latency', 'memory'), (t) => latencyMeasure(ctx, t)),
    ),
};

// ---- scenario: idle subscribed sockets -------------------------------------------------------

/** The server holds one descriptor per socket; keep a margin under the hard limit of this machine. */
export function idleSocketCount(requested: number): number {
  return Math.min(requested, hardFdLimit() - 300);
}

async function idleMeasure(ctx: BenchContext, target: Target): Promise<SideResult> {
  const s = ctx.sizes.idle;
  const count = idleSocketCount(s.sockets);
  const topics = Array.from({ length: Math.min(100, count) }, (_, i) => `idle-${i}`);
  await target.ensureTopics(topics);
  await sleep(500);
  const rss0 = rssMiB(target.pid);
  const sampler = new ProcSampler(target.pid).start();
  const fleet = await startFleet(target, {
    count,
    procs: s.procs,
    topics,
    concurrency: s.concurrency,
    reportDone: false,
    recordLatency: false,
    addressesPerProc: 2,
  });
  try {
    const connectWin = sampler.stop();
    await sleep(s.settleMs);
    const rss1 = rssMiB(target.pid);
    const side = emptySide();
    side.figures.kbPerConn = ((rss1 - rss0) * 1024) / fleet.subscribed;
    side.serverCpuPct = connectWin.cpuPct;
    side.machineBusyPct = connectWin.machineBusyPct;
    side.windowMonoUs = connectWin.monoUs;
    side.serverRssMiB = rss1;
    side.notes = {
      sockets: fleet.subscribed,
      requested: s.sockets,
      rssBeforeMiB: Number(rss0.toFixed(1)),
      rssAfterMiB: Number(rss1.toFixed(1)),
      connectSec: Number((Math.max(...fleet.connected.map((c) => c.elapsedMs)) / 1000).toFixed(2)),
      serverFds: openFds(target.pid),
    };
    return side;
  } finally {
    await closeFleet(fleet);
  }
}

const idle: ScenarioDef = {
  name: 'idle-ws',
  title: 'Idle WebSocket connections (20,000, subscribed to one topic each)',
  referenceLabel: 'raw idle ws server',
  noteKeys: ['sockets', 'connectSec'],
  metrics: [
    {
      key: 'kbPerConn',
      label: 'server RSS per connection',
      unit: 'KiB',
      better: 'lower',
      target: '≤ 2.5 × raw RSS per connection',
      check: (m) => m.ratio <= 2.5,
    },
  ],
  run: (ctx) =>
    sideBySide(
      ctx,
      'idle-ws',
      () =>
        withTarget(
          () => startReference('ws-idle', ctx.logDir),
          (t) => idleMeasure(ctx, t),
        ),
      () => withTarget(relayStarter(ctx, 'idle-ws', 'memory'), (t) => idleMeasure(ctx, t)),
    ),
};

// ---- scenario: pending long-polls released by one publish -------------------------------------

const POLL_TOPIC = 'bench-poll';

async function pollMeasure(ctx: BenchContext, target: Target): Promise<SideResult> {
  const s = ctx.sizes.poll;
  await target.ensureTopics([POLL_TOPIC]);
  await sleep(500);
  const rss0 = rssMiB(target.pid);
  const workers: Worker[] = [];
  const per = Math.ceil(s.waiters / s.procs);
  try {
    const sent = await Promise.all(
      Array.from({ length: s.procs }, (_, i) => {
        const w = new Worker(`pollers-${i}`, 'load/pollers');
        workers.push(w);
        return w.request<PollersSentEvent>(
          {
            cmd: 'start',
            config: {
              baseUrl: target.baseUrl,
              path: '/messages/poll',
              token: target.token,
              topic: POLL_TOPIC,
              count: Math.min(per, s.waiters - i * per),
              timeoutSec: s.timeoutSec,
              connectBatch: s.batch,
              localAddresses: sourceAddresses(1),
            },
          },
          'sent',
          120_000,
        );
      }),
    );
    const deadline = performance.now() + 60_000;
    let waiting = 0;
    while (performance.now() < deadline) {
      waiting = await target.pollWaiters();
      if (waiting >= s.waiters) break;
      await sleep(100);
    }
    if (waiting < s.waiters) {
      throw new Error(
        `only ${waiting}/${s.waiters} polls pending (${sent.find((x) => x.firstError)?.firstError ?? 'no client error'})`,
      );
    }
    await sleep(s.settleMs);
    const rss1 = rssMiB(target.pid);
    const sampler = new ProcSampler(target.pid).start();
    const allAnswered = Promise.all(
      workers.map((w) => w.waitFor('answered', 30_000).catch(() => undefined)),
    );
    const pub = new Worker('publisher', 'load/publisher');
    let res: PublisherResult;
    try {
      res = await pub.request<PublisherResult>(
        { cmd: 'start', config: publisherConfig(target, { topic: POLL_TOPIC, mode: 'once' }) },
        'result',
        30_000,
      );
    } finally {
      await pub.stop();
    }
    await allAnswered;
    const reports = await Promise.all(
      workers.map((w) => w.request<PollersReportEvent>({ cmd: 'report' }, 'report', 30_000)),
    );
    const win = sampler.stop();
    const answeredAt = reports.flatMap((r) => r.answeredAt).map((t) => t - res.firstSendAt);
    const withMessage = sum(reports.map((r) => r.withMessage));
    const side = emptySide();
    side.figures.releaseMs = answeredAt.length ? Math.max(...answeredAt) : NaN;
    side.figures.kbPerWaiter = ((rss1 - rss0) * 1024) / s.waiters;
    side.latencyMs = summarize(answeredAt);
    side.serverCpuPct = win.cpuPct;
    side.machineBusyPct = win.machineBusyPct;
    side.windowMonoUs = win.monoUs;
    side.serverRssMiB = rss1;
    side.lost = s.waiters - withMessage;
    side.errors = sum(reports.map((r) => r.failed)) + res.failed;
    side.notes = {
      waiters: waiting,
      answered: answeredAt.length,
      withMessage,
      rssBeforeMiB: Number(rss0.toFixed(1)),
      rssAfterMiB: Number(rss1.toFixed(1)),
      statusCodes: JSON.stringify(reports.map((r) => r.statusCodes)),
    };
    const firstError = reports.find((r) => r.firstError)?.firstError ?? res.firstError;
    if (firstError) side.notes.firstError = firstError;
    if (!withMessage) throw new Error(`no poll got the message (${firstError})`);
    return side;
  } finally {
    await Promise.all(
      workers.map((w) => w.request({ cmd: 'close' }, 'closed', 10_000).catch(() => undefined)),
    );
    await stopAll(workers);
  }
}

const polls: ScenarioDef = {
  name: 'long-poll',
  title: '5,000 pending long-polls released by one publish',
  referenceLabel: 'raw node:http long-poll server',
  noteKeys: ['waiters', 'withMessage'],
  metrics: [
    {
      key: 'releaseMs',
      label: 'time to answer all',
      unit: 'ms',
      better: 'lower',
      target: '≤ 2 × raw time to answer all',
      check: (m) => m.ratio <= 2 && m.lost === 0,
    },
    {
      key: 'kbPerWaiter',
      label: 'server RSS per waiter',
      unit: 'KiB',
      better: 'lower',
      target: '≤ 2.5 × raw RSS per waiter',
      check: (m) => m.ratio <= 2.5,
    },
  ],
  run: (ctx) =>
    sideBySide(
      ctx,
      'long-poll',
      () =>
        withTarget(
          () => startReference('http-longpoll', ctx.logDir),
          (t) => pollMeasure(ctx, t),
        ),
      () => withTarget(relayStarter(ctx, 'long-poll', 'memory'), (t) => pollMeasure(ctx, t)),
    ),
};

// ---- scenario: two relay instances on one Valkey ----------------------------------------------

const CROSS_TOPIC = 'bench-cross';

/**
 * Publishes at full speed into each instance listed in `publishTo` (one publisher process per
 * entry) while subscribers on every instance check that each acknowledged message arrives once.
 */
async function crossMeasure(
  ctx: BenchContext,
  instances: Target[],
  publishTo: Target[],
  valkey: BenchValkey,
): Promise<SideResult> {
  const s = ctx.sizes.cross;
  await instances[0].ensureTopics([CROSS_TOPIC]);
  const subsPerInstance = Math.round((s.subscribersPerInstance * 2) / instances.length);
  const fleets: Fleet[] = [];
  const pubs: Worker[] = [];
  try {
    for (const inst of instances) {
      fleets.push(
        await startFleet(inst, {
          count: subsPerInstance,
          procs: 1,
          topics: [CROSS_TOPIC],
          concurrency: 25,
          reportDone: false,
          recordLatency: true,
        }),
      );
    }
    const samplers = instances.map((i) => new ProcSampler(i.pid).start());
    const vk = await valkeyWindow(valkey);
    const results = await Promise.all(
      publishTo.map((inst, pubId) => {
        const w = new Worker(`publisher-${pubId}`, 'load/publisher');
        pubs.push(w);
        return w.request<PublisherResult>(
          {
            cmd: 'start',
            config: publisherConfig(inst, {
              topic: CROSS_TOPIC,
              pub: pubId,
              mode: 'max',
              concurrency: s.concurrency,
              durationMs: s.durationSec * 1000,
              padChars: padForFrame(CROSS_TOPIC, 200),
            }),
          },
          'result',
          s.durationSec * 1000 + 60_000,
        );
      }),
    );
    const wins = samplers.map((x) => x.stop());
    const valkeyCpu = await vk();
    const acked: AckedSeqs = {};
    for (const r of results) acked[r.pub] = r.ackedSeqs;
    const reports = (await Promise.all(fleets.map((f) => drainFleet(f, acked, 10_000)))).flat();
    // Throughput per instance: acknowledged publishes per second into each instance.
    const perInstance = new Map<Target, number>();
    results.forEach((r, i) => {
      const inst = publishTo[i];
      const rate = r.acked / ((r.lastAckAt - r.firstSendAt) / 1000);
      perInstance.set(inst, (perInstance.get(inst) ?? 0) + rate);
    });
    const side = emptySide();
    side.figures.msgPerSecPerInstance = sum([...perInstance.values()]) / perInstance.size;
    side.latencyMs = summarize(reports.flatMap((r) => r.latenciesMs));
    side.serverCpuPct = sum(wins.map((w) => w.cpuPct));
    side.machineBusyPct = wins[0].machineBusyPct;
    side.windowMonoUs = wins[0].monoUs;
    side.serverRssMiB = sum(wins.map((w) => w.peakRssMiB));
    side.valkeyCpuPct = valkeyCpu;
    side.loadCpuPct = loadCpuPct(
      [...results.map((r) => r.cpu), ...reports.map((r) => r.cpu)],
      s.durationSec,
    );
    side.lost = sum(reports.map((r) => r.lost));
    side.duplicated = sum(reports.map((r) => r.duplicates));
    side.errors = sum(results.map((r) => r.failed));
    side.notes = {
      instances: instances.length,
      subscribers: sum(fleets.map((f) => f.subscribed)),
      published: sum(results.map((r) => r.acked)),
      received: sum(reports.map((r) => r.received)),
      perInstanceCpuPct: wins.map((w) => w.cpuPct.toFixed(0)).join(' / '),
      publishP99Ms: Math.max(...results.map((r) => r.latencyMs.p99)),
    };
    const firstError = results.find((r) => r.firstError)?.firstError;
    if (firstError) side.notes.firstError = firstError;
    if (!side.notes.published) throw new Error(`no publish acknowledged (${firstError})`);
    return side;
  } finally {
    await stopAll(pubs);
    for (const f of fleets) await closeFleet(f);
  }
}

const cross: ScenarioDef = {
  name: 'cross-instance',
  // Two relays pinned to one core could not exceed 0.5 of one relay by construction.
  unpinned: true,
  title: 'Cross-instance delivery (2 instances, one Valkey)',
  referenceLabel: 'the relay, 1 instance on the same Valkey',
  noteKeys: ['published', 'received'],
  metrics: [
    {
      key: 'msgPerSecPerInstance',
      label: 'publishes/s per instance, delivered to all',
      unit: 'msg/s',
      better: 'higher',
      target: '≥ 0.5 × single-instance throughput per instance, 0 lost, 0 duplicated',
      check: (m) => m.ratio >= 0.5 && m.lost === 0 && m.duplicated === 0,
    },
  ],
  async run(ctx) {
    const valkey = await ctx.valkey();
    const start = (name: string) => relayStarter(ctx, 'cross-instance', 'valkey', valkey, name)();
    return sideBySide(
      ctx,
      'cross-instance',
      async () => {
        await flushValkey(valkey);
        return withTarget(
          () => start('relay-single'),
          (a) => crossMeasure(ctx, [a], [a, a], valkey),
        );
      },
      async () => {
        await flushValkey(valkey);
        return withTarget(
          () => start('relay-a'),
          (a) =>
            withTarget(
              () => start('relay-b'),
              (b) => crossMeasure(ctx, [a, b], [a, b], valkey),
            ),
        );
      },
    );
  },
};

export const SCENARIOS: ScenarioDef[] = [
  ingestScenario('publish-memory', 'Single publishes, memory backend', 'memory', false),
  ingestScenario('publish-valkey', 'Single publishes, Valkey backend', 'valkey', false),
  ingestScenario('bulk-memory', 'Bulk publishes of 100, memory backend', 'memory', true),
  ingestScenario('bulk-valkey', 'Bulk publishes of 100, Valkey backend', 'valkey', true),
  fanout,
  latency,
  idle,
  polls,
  cross,
];

/** Medians of the runs of one scenario, ready for the report. */
export interface MetricSummary {
  scenario: string;
  title: string;
  referenceLabel: string;
  metric: Omit<MetricDef, 'check'>;
  relay: number;
  reference: number;
  ratio: number;
  lost: number;
  duplicated: number;
  errors: number;
  runs: number;
  relayRuns: number;
  /** Medians of the scenario's `noteKeys` over the relay's runs. */
  notes: Record<string, number>;
  pass: boolean | null;
}

export function summarizeScenario(def: ScenarioDef, runs: RunResult[]): MetricSummary[] {
  return def.metrics.map((m) => {
    const relayVals = runs.map((r) => r.relay?.figures[m.key] ?? NaN);
    const refVals = runs.map((r) => r.reference?.figures[m.key] ?? NaN);
    const ratios = runs.map((r, i) => relayVals[i] / refVals[i]);
    const relay = median(relayVals);
    const reference = median(refVals);
    const ratio = median(ratios);
    const lost = sum(runs.map((r) => r.relay?.lost ?? 0));
    const duplicated = sum(runs.map((r) => r.relay?.duplicated ?? 0));
    const errors = sum(runs.map((r) => r.relay?.errors ?? 0));
    const relayRuns = runs.filter((r) => r.relay).length;
    const notes: Record<string, number> = {};
    for (const k of def.noteKeys ?? []) {
      notes[k] = median(runs.map((r) => Number(r.relay?.notes[k] ?? NaN)));
    }
    const { check, ...metric } = m;
    return {
      scenario: def.name,
      title: def.title,
      referenceLabel: def.referenceLabel,
      metric,
      relay,
      reference,
      ratio,
      lost,
      duplicated,
      errors,
      runs: runs.length,
      relayRuns,
      notes,
      pass: relayRuns === 0 ? null : check({ relay, reference, ratio, lost, duplicated }),
    };
  });
}

export function profileDirFor(resultsDir: string, scenario: string, run: number): string {
  return path.join(resultsDir, 'profiles', `${scenario}-run${run}`);
}
