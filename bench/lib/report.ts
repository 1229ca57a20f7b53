import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

import { hardFdLimit } from './proc';
import type { MetricSummary, RunResult, SideResult } from './scenarios';
import { fmt, median } from './stats';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  node: string;
  kernel: string;
  valkey: string;
  fdHardLimit: number;
  ephemeralPorts: string;
}

export function machineInfo(): MachineInfo {
  let valkey = 'n/a';
  for (const bin of ['valkey-server', 'redis-server']) {
    try {
      valkey = execFileSync(bin, ['--version']).toString().trim().split(' ').slice(0, 3).join(' ');
      break;
    } catch {
      /* try the next name */
    }
  }
  let ports = 'n/a';
  try {
    ports = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .replace(/\s+/, '–');
  } catch {
    /* not Linux */
  }
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    valkey,
    fdHardLimit: hardFdLimit(),
    ephemeralPorts: ports,
  };
}

export interface BenchReport {
  generatedAt: string;
  mode: 'full' | 'quick';
  runsPerScenario: number;
  totalSec: number;
  machine: MachineInfo;
  summary: MetricSummary[];
  runs: RunResult[];
}

const verdict = (s: MetricSummary): string =>
  s.pass === null ? 'ERROR' : s.pass ? 'PASS' : 'SHORT';

function unitFmt(v: number, unit: string): string {
  if (unit === 'ms' || unit === 'KiB') return `${fmt(v, v >= 100 ? 0 : 1)} ${unit}`;
  return `${fmt(v, 0)} ${unit}`;
}

function counters(s: MetricSummary): string {
  const parts: string[] = [];
  if (s.lost || /lost/.test(s.metric.target)) parts.push(`lost ${s.lost}`);
  if (s.duplicated || /duplicated/.test(s.metric.target)) parts.push(`dup ${s.duplicated}`);
  if (s.errors) parts.push(`errors ${s.errors}`);
  if (s.relayRuns < s.runs) parts.push(`relay ran ${s.relayRuns}/${s.runs}`);
  for (const [k, v] of Object.entries(s.notes ?? {})) {
    parts.push(`${k} ${fmt(v, Number.isInteger(v) ? 0 : 1)}`);
  }
  return parts.join(', ');
}

/** One line per metric: medians, ratio, target and verdict. */
export function verdictLine(s: MetricSummary): string {
  const extra = counters(s);
  return (
    `${s.metric.label}: relay ${unitFmt(s.relay, s.metric.unit)}, reference ` +
    `${unitFmt(s.reference, s.metric.unit)}, ratio ${fmt(s.ratio, 2)} (median of ${s.runs}); ` +
    `target ${s.metric.target}: ${verdict(s)}${extra ? ` (${extra})` : ''}`
  );
}

export function consoleSummary(summary: MetricSummary[]): string {
  const rows = summary.map((s) => [
    s.scenario,
    s.metric.label,
    unitFmt(s.relay, s.metric.unit),
    unitFmt(s.reference, s.metric.unit),
    fmt(s.ratio, 2),
    s.metric.target,
    verdict(s),
    counters(s),
  ]);
  const head = ['scenario', 'metric', 'relay', 'reference', 'ratio', 'target', 'result', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function describeSide(side: SideResult | null, figureKeys: string[]): string {
  if (!side) return 'failed';
  const figs = figureKeys.map((k) => fmt(side.figures[k])).join(' / ');
  const lat = side.latencyMs
    ? ` p50/p95/p99 ${fmt(side.latencyMs.p50)}/${fmt(side.latencyMs.p95)}/${fmt(side.latencyMs.p99)} ms`
    : '';
  const extra = [
    side.serverCpuPct !== undefined ? `cpu ${fmt(side.serverCpuPct, 0)}%` : '',
    side.serverRssMiB !== undefined ? `rss ${fmt(side.serverRssMiB, 0)} MiB` : '',
    side.valkeyCpuPct !== undefined && Number.isFinite(side.valkeyCpuPct)
      ? `valkey ${fmt(side.valkeyCpuPct, 0)}%`
      : '',
    side.loadCpuPct !== undefined ? `load ${fmt(side.loadCpuPct, 0)}%` : '',
    side.machineBusyPct !== undefined ? `machine ${fmt(side.machineBusyPct, 0)}% busy` : '',
    side.lost || side.duplicated ? `lost ${side.lost} dup ${side.duplicated}` : '',
    side.errors ? `errors ${side.errors}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${figs}${lat} (${extra})`;
}

function medianOf(
  sides: (SideResult | null)[],
  pick: (s: SideResult) => number | undefined,
): number {
  return median(sides.filter((s): s is SideResult => s !== null).map((s) => pick(s) ?? NaN));
}

const pct = (v: string): string => (v === 'n/a' ? v : `${v} %`);

function detailRows(report: BenchReport): string[] {
  const rows: string[] = [];
  const names = [...new Set(report.runs.map((r) => r.scenario))];
  for (const name of names) {
    const runs = report.runs.filter((r) => r.scenario === name);
    for (const side of ['relay', 'reference'] as const) {
      const sides = runs.map((r) => r[side]);
      if (sides.every((s) => s === null)) {
        const err = runs
          .map((r) => (side === 'relay' ? r.relayError : r.referenceError))
          .find(Boolean);
        const first = (err ?? '').split('\n')[0].slice(0, 120);
        rows.push(`| ${name} | ${side} | failed: ${first} | | | | | | |`);
        continue;
      }
      const med = (pick: (s: SideResult) => number | undefined, digits?: number) =>
        fmt(medianOf(sides, pick), digits);
      const cells = [
        name,
        side,
        `${med((s) => s.latencyMs?.p50)} / ${med((s) => s.latencyMs?.p95)} / ${med((s) => s.latencyMs?.p99)}`,
        pct(med((s) => s.serverCpuPct, 0)),
        `${med((s) => s.serverRssMiB, 0)} MiB`,
        med((s) => s.valkeyCpuPct, 0),
        pct(med((s) => s.loadCpuPct, 0)),
        pct(med((s) => s.machineBusyPct, 0)),
        `${med((s) => s.lost, 0)} / ${med((s) => s.duplicated, 0)} / ${med((s) => s.errors, 0)}`,
      ];
      rows.push(`| ${cells.join(' | ')} |`);
    }
  }
  return rows;
}

export function markdown(report: BenchReport, findings: string | null): string {
  const m = report.machine;
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push(
    `<!-- Generated by \`npm run bench\` (bench/run.ts) on ${report.generatedAt}. Do not edit by hand: ` +
      'the findings section comes from bench/FINDINGS.md, everything else from the run. -->',
  );
  out.push('');
  out.push(
    'Every figure is taken side by side in one run: the relay against a *reference*, a minimal ' +
      'Node.js program doing the same job with nothing in the way (`bench/reference/`). Targets ' +
      'are those of the specification (TARGETS.md): a ratio of relay to reference on the same ' +
      'machine, or an absolute figure where the target says so.',
  );
  out.push('');
  out.push('## How to run');
  out.push('');
  out.push('```sh');
  out.push('npm ci && npm run build');
  out.push(
    'npm run bench                       # every scenario, BENCH_RUNS runs each (default 3), rewrites this page',
  );
  out.push('npm run bench -- fanout latency     # some scenarios (results JSON only)');
  out.push(
    'BENCH_QUICK=1 npm run bench         # tiny smoke run, < 60 s, does not touch this page',
  );
  out.push('BENCH_PROFILE=fanout npm run bench -- fanout   # also writes a relay CPU profile');
  out.push('```');
  out.push('');
  out.push(
    'The harness starts a private Valkey (AOF, `appendfsync everysec`), the relay (`node dist/main.js`) ' +
      'and each reference as separate processes, and drives them from separate load-generator ' +
      'processes (autocannon for HTTP, `ws` clients, a publisher, long-pollers). Server CPU comes ' +
      'from `/proc/<pid>/stat` (100 % = one core) and RSS from `/proc/<pid>/status`. The relay ' +
      'runs with real JWT auth on every request, a non-admin user with `read`+`write`, and real ' +
      'subscriptions to topics that user created. Processes are not pinned to cores ' +
      '(`BENCH_PIN=1` pins servers to CPU 0 and load generators to CPU 1). See ' +
      '`bench/README.md` for each scenario.',
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  out.push(`| CPU | ${m.cpuModel}, ${m.cores} cores |`);
  out.push(`| RAM | ${m.ramGiB} GiB |`);
  out.push(`| Node.js | ${m.node} |`);
  out.push(`| Kernel | ${m.kernel} |`);
  out.push(`| Valkey/Redis | ${m.valkey} |`);
  out.push(`| Open-file hard limit | ${m.fdHardLimit} |`);
  out.push(`| Ephemeral ports | ${m.ephemeralPorts} |`);
  out.push(
    `| Run | ${report.generatedAt}, ${report.runsPerScenario} runs per scenario, ${fmt(report.totalSec / 60, 1)} min in all |`,
  );
  out.push('');
  out.push(`## Results (median of ${report.runsPerScenario} runs)`);
  out.push('');
  out.push(
    'Ratio = median of the per-run ratios. Each run measures both sides back to back; the four ' +
      'ingest rows start both servers and measure them in turns (A B B A A B, a third of the ' +
      'time each), so that a change in the machine speed falls on both sides alike.',
  );
  out.push('');
  out.push('| Scenario | Metric | Relay | Reference | Ratio | Target | Result | Notes |');
  out.push('|---|---|---:|---:|---:|---|---|---|');
  for (const s of report.summary) {
    out.push(
      `| ${s.title} | ${s.metric.label} | ${unitFmt(s.relay, s.metric.unit)} | ` +
        `${unitFmt(s.reference, s.metric.unit)} (${s.referenceLabel}) | ${fmt(s.ratio, 2)} | ` +
        `${s.metric.target} | **${verdict(s)}** | ${counters(s)} |`,
    );
  }
  out.push('');
  out.push('## Details (medians)');
  out.push('');
  out.push(
    'Latency columns: HTTP request latency for the publish rows, publish→delivery for the ' +
      'WebSocket rows, publish→answer for the long-poll row. CPU is the server process ' +
      '(for cross-instance: both relays); load CPU is the load generators together.',
  );
  out.push('');
  out.push(
    '| Scenario | Side | p50 / p95 / p99 (ms) | Server CPU | Server RSS | Valkey CPU % | Load CPU | Machine busy | lost / dup / errors |',
  );
  out.push('|---|---|---|---:|---:|---:|---:|---:|---|');
  out.push(...detailRows(report));
  out.push('');
  if (findings) {
    out.push(findings.trim());
    out.push('');
  }
  return out.join('\n');
}
