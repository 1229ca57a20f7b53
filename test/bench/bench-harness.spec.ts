import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { BenchReport } from '../../bench/lib/report';
import { SCENARIOS } from '../../bench/lib/scenarios';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'BENCHMARKS.md');

/**
 * Runs the whole benchmark harness in smoke mode (BENCH_QUICK=1) as a separate process and
 * checks that it works end to end: every scenario measured both the relay and its reference.
 * The figures themselves are not asserted (a smoke run is far too small for that).
 */
describe('benchmark harness (BENCH_QUICK=1)', () => {
  let report: BenchReport;
  let docBefore: string | null;
  let output = '';

  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'main.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
    }
    docBefore = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : null;
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-spec-')), 'quick.json');
    const run = spawnSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'bench', 'run.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_QUICK: '1', BENCH_RUNS: '1', BENCH_OUT: out },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    output = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0 || !fs.existsSync(out)) {
      throw new Error(
        `harness exited with ${run.status} (${run.signal ?? 'no signal'}):\n${output}`,
      );
    }
    report = JSON.parse(fs.readFileSync(out, 'utf8')) as BenchReport;
  }, 240_000);

  it('runs every scenario of the target table once', () => {
    expect(report.mode).toBe('quick');
    expect(report.runs.map((r) => r.scenario)).toEqual(SCENARIOS.map((s) => s.name));
  });

  it.each(SCENARIOS.map((s) => [s.name, s] as const))(
    '%s: measured the reference and the relay, with numbers for every metric',
    (name, def) => {
      const run = report.runs.find((r) => r.scenario === name);
      expect(run?.referenceError).toBeUndefined();
      expect(run?.relayError).toBeUndefined();
      for (const m of def.metrics) {
        expect(Number.isFinite(run?.reference?.figures[m.key])).toBe(true);
        expect(Number.isFinite(run?.relay?.figures[m.key])).toBe(true);
      }
      expect(Number.isFinite(run?.relay?.serverCpuPct ?? run?.relay?.serverRssMiB)).toBe(true);
    },
  );

  it('summarises every target row with a verdict and prints the table', () => {
    const rows = SCENARIOS.flatMap((s) => s.metrics.map((m) => `${s.name}/${m.key}`));
    expect(report.summary.map((s) => `${s.scenario}/${s.metric.key}`)).toEqual(rows);
    for (const s of report.summary) expect(typeof s.pass).toBe('boolean');
    expect(output).toMatch(/scenario\s+metric\s+relay\s+reference\s+ratio\s+target\s+result/);
  });

  it('leaves docs/BENCHMARKS.md alone in quick mode', () => {
    const docAfter = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : null;
    expect(docAfter).toBe(docBefore);
  });

  it('records the machine it ran on', () => {
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
  });
});
