import { ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

import type { WorkerErrorEvent } from './ipc';

export const ROOT = path.resolve(__dirname, '..', '..');
/** Plain-JS copies of bench/ so that workers and reference servers run on bare `node`. */
export const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'pulsar-bench');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const live = new Set<ChildProcess>();

/** Kills every child this harness started (by pid) when the harness exits. */
export function killAllChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * Transpiles bench/**\/*.ts into BUILD_DIR (same layout), so that the load generators and the
 * reference programs do not carry the TypeScript compiler in their heap or start-up time.
 */
export function transpileBench(): void {
  const srcRoot = path.join(ROOT, 'bench');
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'results' ? [] : walk(p);
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
    });
  for (const file of walk(srcRoot)) {
    const out = path.join(BUILD_DIR, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
      fileName: file,
    });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // Write-then-rename: a concurrent harness never loads a half-written file.
    const tmp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, outputText);
    fs.renameSync(tmp, out);
  }
}

/** Path of the transpiled copy of a bench file, e.g. `load/http-load`. */
export function benchJs(rel: string): string {
  return path.join(BUILD_DIR, 'bench', `${rel}.js`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

// ---- /proc sampling --------------------------------------------------------------------------

let clkTck = 0;
function ticksPerSecond(): number {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Resident set size in MiB from /proc/<pid>/status (VmRSS). */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export function openFds(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Hard limit on open files of this process (children inherit it). */
export function hardFdLimit(): number {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  if (!m) return 1024;
  return m[2] === 'unlimited' ? 1_048_576 : Number(m[2]);
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total };
}

export interface CpuWindow {
  cpuPct: number;
  rssMiB: number;
  peakRssMiB: number;
  /** Share of the whole machine busy in the window (all processes, 100 % = every core). */
  machineBusyPct: number;
  /** The window on CLOCK_MONOTONIC in µs: the clock of V8 CPU profiles, to cut them to it. */
  monoUs: [number, number];
}

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** CPU share (100 % = one core) and RSS of a process over a measured window. */
export class ProcSampler {
  private cpu0 = 0;
  private t0 = 0;
  private machine0 = { busy: 0, total: 0 };
  private mono0 = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly pid: number) {}

  start(): this {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
    this.machine0 = machineJiffies();
    this.mono0 = monoUs();
    this.peak = rssMiB(this.pid);
    this.timer = setInterval(() => {
      try {
        this.peak = Math.max(this.peak, rssMiB(this.pid));
      } catch {
        /* the process ended; stop() reports what was seen */
      }
    }, 250);
    return this;
  }

  stop(): CpuWindow {
    if (this.timer) clearInterval(this.timer);
    const elapsed = (performance.now() - this.t0) / 1000;
    const cpu = cpuSeconds(this.pid) - this.cpu0;
    const rss = rssMiB(this.pid);
    const m = machineJiffies();
    const dTotal = m.total - this.machine0.total;
    return {
      cpuPct: (100 * cpu) / elapsed,
      rssMiB: rss,
      peakRssMiB: Math.max(this.peak, rss),
      machineBusyPct: dTotal > 0 ? (100 * (m.busy - this.machine0.busy)) / dTotal : NaN,
      monoUs: [this.mono0, monoUs()],
    };
  }
}

// ---- server processes (relay, references, Valkey) -------------------------------------------

export interface ServerProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  logTail(lines?: number): string;
}

let pinning = false;

/**
 * `BENCH_PIN=1`: servers (relay, reference, Valkey) on CPU 0 and load generators on CPU 1 from now
 * on, so that a server never shares its core with the load it measures. Steadier single-process
 * HTTP rows, but the Valkey rows then put the relay and Valkey on one core: off by default.
 */
export function setPinning(on: boolean): void {
  pinning = on && process.env.BENCH_PIN === '1' && os.cpus().length >= 2;
}

export function pinningEnabled(): boolean {
  return pinning;
}

function pin(pid: number, role: 'server' | 'load'): void {
  if (!pinning) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', role === 'server' ? '0' : '1', String(pid)], {
      stdio: 'ignore',
    });
  } catch {
    /* no taskset: unpinned */
  }
}

export function spawnServer(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
): ServerProcess {
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'w');
  const child = track(spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', fd, fd] }));
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  pin(pid, 'server');
  return {
    name,
    child,
    pid,
    logFile,
    logTail(lines = 20) {
      try {
        return fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 5000) {
      await stopChild(child, signal, graceMs);
    },
  };
}

export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers 200, the process dies, or the time is up. */
export async function waitForHttp(
  url: string,
  server: ServerProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`${server.name} exited early:\n${server.logTail()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(
    `${server.name} not healthy at ${url} after ${timeoutMs} ms (${last}):\n${server.logTail()}`,
  );
}

// ---- load-generator workers ------------------------------------------------------------------

interface Waiter {
  ev: string;
  resolve: (msg: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** A load-generator child process driven over IPC. */
export class Worker {
  readonly child: ChildProcess;
  private queue: Record<string, unknown>[] = [];
  private waiters: Waiter[] = [];
  private listeners = new Map<string, (msg: Record<string, unknown>) => void>();
  private failure: Error | null = null;

  constructor(
    readonly name: string,
    script: string,
  ) {
    this.child = track(
      fork(benchJs(script), [], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
    );
    if (this.child.pid !== undefined) pin(this.child.pid, 'load');
    this.child.on('message', (raw: unknown) => this.dispatch(raw as Record<string, unknown>));
    this.child.once('exit', (code, signal) => {
      this.fail(new Error(`${name} exited (code ${code}, signal ${signal})`));
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(msg: object): void {
    if (this.failure) throw this.failure;
    this.child.send(msg);
  }

  /** Streams every event named `ev` to `fn` instead of queueing it. */
  on(ev: string, fn: (msg: Record<string, unknown>) => void): void {
    this.listeners.set(ev, fn);
  }

  waitFor<T>(ev: string, timeoutMs: number): Promise<T> {
    const i = this.queue.findIndex((m) => m.ev === ev);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as T);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        ev,
        resolve: (m) => resolve(m as T),
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`${this.name}: no '${ev}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  async request<T>(msg: object, ev: string, timeoutMs: number): Promise<T> {
    const reply = this.waitFor<T>(ev, timeoutMs);
    this.send(msg);
    return reply;
  }

  async stop(): Promise<void> {
    this.failure ??= new Error(`${this.name} stopped`);
    await stopChild(this.child, 'SIGTERM', 2000);
  }

  private dispatch(msg: Record<string, unknown>): void {
    if (msg.ev === 'error') {
      this.fail(new Error(`${this.name}: ${(msg as unknown as WorkerErrorEvent).message}`));
      return;
    }
    const listener = this.listeners.get(String(msg.ev));
    if (listener) {
      listener(msg);
      return;
    }
    const i = this.waiters.findIndex((w) => w.ev === msg.ev);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(msg);
    } else {
      this.queue.push(msg);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters = [];
  }
}

export async function stopAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop()));
}
