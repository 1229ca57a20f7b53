/**
 * Pulsar Relay benchmark harness.
 *
 *   npm run bench                      all scenarios, BENCH_RUNS runs each (default 3)
 *   npm run bench -- fanout latency    only these scenarios
 *   npm run bench -- --list            scenario names
 *   npm run bench -- --render [file]   rewrite docs/BENCHMARKS.md from a stored run (default latest.json)
 *
 * Env: BENCH_RUNS (runs per scenario), BENCH_QUICK=1 (tiny smoke run, leaves docs alone),
 * BENCH_PROFILE=<scenario|all> (relay started with --cpu-prof), BENCH_WRITE_DOCS=1 (regenerate
 * docs/BENCHMARKS.md even for a subset of scenarios), BENCH_OUT=<file> (where the JSON goes),
 * BENCH_SIZES='{"fanout":{"window":8}}' (override scenario sizes for experiments).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { killAllChildren, ROOT, setPinning, transpileBench } from './lib/proc';
import { RELAY_ENTRY, snapshotRelay } from './lib/relay';
import {
  BenchReport,
  consoleSummary,
  describeSide,
  machineInfo,
  markdown,
  verdictLine,
} from './lib/report';
import {
  BenchContext,
  MetricSummary,
  profileDirFor,
  RunResult,
  SCENARIOS,
  summarizeScenario,
} from './lib/scenarios';
import { FULL, QUICK, Sizes } from './lib/sizes';
import { fmt } from './lib/stats';
import { BenchValkey, startValkey } from './lib/valkey';
import { formatProfileTop, profileTop } from './tools/cpu-profile-top';

const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const DOC = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const FINDINGS = path.join(ROOT, 'bench', 'FINDINGS.md');

function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function writeDoc(report: BenchReport): void {
  const findings = fs.existsSync(FINDINGS) ? fs.readFileSync(FINDINGS, 'utf8') : null;
  fs.mkdirSync(path.dirname(DOC), { recursive: true });
  fs.writeFileSync(DOC, markdown(report, findings));
}

/** `--render [file]`: rebuild docs/BENCHMARKS.md from a stored run (after editing FINDINGS.md). */
function render(file: string): void {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
  report.summary = SCENARIOS.flatMap((def) => {
    const runs = report.runs.filter((r) => r.scenario === def.name);
    return runs.length ? summarizeScenario(def, runs) : [];
  });
  writeDoc(report);
  log(`wrote ${path.relative(ROOT, DOC)} from ${path.relative(ROOT, file)}`);
}

function parseArgs(): string[] {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const r = args.indexOf('--render');
  if (r >= 0) {
    render(args[r + 1] ?? path.join(RESULTS_DIR, 'latest.json'));
    process.exit(0);
  }
  if (args.includes('--list')) {
    for (const s of SCENARIOS) log(`${s.name.padEnd(16)} ${s.title}`);
    process.exit(0);
  }
  const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a));
  if (unknown.length) {
    log(
      `unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
    process.exit(2);
  }
  return args;
}

/** `BENCH_SIZES='{"latency":{"procs":4}}'` overrides scenario sizes, for experiments. */
function sizesFor(quick: boolean): Sizes {
  const base: Sizes = structuredClone(quick ? QUICK : FULL);
  const raw = process.env.BENCH_SIZES;
  if (!raw) return base;
  const over = JSON.parse(raw) as Partial<Record<keyof Sizes, Record<string, number>>>;
  for (const [k, v] of Object.entries(over)) Object.assign(base[k as keyof Sizes], v);
  return base;
}

async function main(): Promise<void> {
  const selected = parseArgs();
  const scenarios = selected.length
    ? SCENARIOS.filter((s) => selected.includes(s.name))
    : SCENARIOS;
  const quick = process.env.BENCH_QUICK === '1';
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3)) || 1);
  const profile = process.env.BENCH_PROFILE ?? '';
  const sizes = sizesFor(quick);
  const started = performance.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulsar-bench-'));

  if (!(await snapshotRelay(quick ? 20_000 : 60_000))) {
    log(
      `note: ${path.relative(ROOT, RELAY_ENTRY)} is missing (run \`npm run build\`); ` +
        'only the references will be measured',
    );
  }
  transpileBench();
  const machine = machineInfo();
  log(
    `Pulsar Relay bench: ${quick ? 'QUICK' : 'full'} mode, ${runs} run(s) x ${scenarios.length} scenario(s); ` +
      `${machine.cpuModel} x${machine.cores}, node ${machine.node}; logs in ${logDir}`,
  );

  const shared: { valkey: BenchValkey | null } = { valkey: null };
  const allRuns: RunResult[] = [];
  const summary: MetricSummary[] = [];
  try {
    for (const def of scenarios) {
      setPinning(def.unpinned !== true);
      const runsOf: RunResult[] = [];
      for (let run = 1; run <= runs; run++) {
        const ctx: BenchContext = {
          sizes,
          quick,
          run,
          logDir,
          valkey: async () => (shared.valkey ??= await startValkey(logDir)),
          profileDir: (name) =>
            profile === 'all' || profile.split(',').includes(name)
              ? profileDirFor(RESULTS_DIR, name, run)
              : undefined,
          log,
        };
        const profileDir = ctx.profileDir(def.name);
        if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
        log(`[${def.name}] run ${run}/${runs} ...`);
        const r = await def.run(ctx);
        runsOf.push(r);
        const keys = def.metrics.map((m) => m.key);
        log(`  reference: ${describeSide(r.reference, keys)}`);
        log(`  relay:     ${describeSide(r.relay, keys)}`);
        for (const m of def.metrics) {
          const ratio = (r.relay?.figures[m.key] ?? NaN) / (r.reference?.figures[m.key] ?? NaN);
          log(`  ${m.label}: ratio ${fmt(ratio, 2)} (${fmt(r.elapsedSec, 1)} s)`);
        }
        if (profileDir && fs.existsSync(profileDir)) {
          for (const f of fs.readdirSync(profileDir).filter((x) => x.endsWith('.cpuprofile'))) {
            const file = path.join(profileDir, f);
            const window = r.relay?.windowMonoUs;
            const top = formatProfileTop(profileTop(file, 20, window));
            log(`  profile ${file} (${window ? 'measured window' : 'whole run'}):\n${top}`);
          }
        }
      }
      allRuns.push(...runsOf);
      const rows = summarizeScenario(def, runsOf);
      summary.push(...rows);
      for (const row of rows) log(`  => ${verdictLine(row)}`);
    }
  } finally {
    if (shared.valkey) await shared.valkey.stop();
  }

  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    runsPerScenario: runs,
    totalSec: (performance.now() - started) / 1000,
    machine,
    summary,
    runs: allRuns,
  };

  const failures = allRuns.filter((r) => r.relayError || r.referenceError).length;
  if (failures === 0 && process.env.BENCH_KEEP_LOGS !== '1') {
    fs.rmSync(logDir, { recursive: true, force: true });
  } else {
    log(`server logs kept in ${logDir}`);
  }

  log('');
  log(consoleSummary(summary));
  log(`\ntotal ${fmt(report.totalSec, 0)} s`);

  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const jsonFile =
    process.env.BENCH_OUT ??
    path.join(RESULTS_DIR, quick ? 'quick-latest.json' : `bench-${stamp}.json`);
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2));
  log(`results: ${path.relative(ROOT, jsonFile)}`);

  // The page shows medians of at least 3 unprofiled runs of every scenario, unless forced.
  const complete = scenarios.length === SCENARIOS.length && runs >= 3 && !profile;
  if (!quick && (complete || process.env.BENCH_WRITE_DOCS === '1')) {
    writeDoc(report);
    // latest.json is the run behind docs/BENCHMARKS.md (kept in git; the others are not).
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(report, null, 2));
    log(`wrote ${path.relative(ROOT, DOC)} and bench/results/latest.json`);
  }
}

process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
