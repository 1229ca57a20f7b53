/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with the most self
 * time, and self time grouped by package or source folder.
 *
 *   npx ts-node --transpile-only bench/tools/cpu-profile-top.ts <file.cpuprofile> [top=25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileTop {
  totalMs: number;
  functions: { name: string; where: string; selfMs: number; pct: number; callers: string[] }[];
  groups: { group: string; selfMs: number; pct: number }[];
  /** Time with the function anywhere on the stack (each sample counted once per function). */
  inclusive: { name: string; where: string; totalMs: number; pct: number }[];
}

/** Path inside the relay build or a package, whatever copy of dist/ the profile came from. */
function shortPath(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const dist = /\/dist\/(.+)$/.exec(file);
  if (dist && !file.includes('/node_modules/', file.lastIndexOf('/dist/') + 1)) {
    const nm = file.lastIndexOf('/node_modules/');
    if (nm < 0 || file.includes('/.cache/')) return `dist/${dist[1]}`;
  }
  const nm = file.lastIndexOf('/node_modules/');
  return nm >= 0 ? file.slice(nm + 1) : file;
}

function groupOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const short = shortPath(url);
  if (short.startsWith('dist/')) return `relay ${path.dirname(short.slice(5))}`;
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short);
  return nm ? nm[1] : path.basename(url);
}

/**
 * `window` (µs on CLOCK_MONOTONIC, the clock of the profile's timestamps on Linux) keeps only the
 * samples taken inside it, e.g. the measured phase of a scenario without start-up and setup.
 */
export function profileTop(file: string, top = 25, window?: [number, number]): ProfileTop {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  if (window) {
    let t = profile.startTime;
    const keep = profile.samples.map((_, i) => {
      t += profile.timeDeltas[i] ?? 0;
      return t >= window[0] && t <= window[1];
    });
    profile.samples = profile.samples.filter((_, i) => keep[i]);
    profile.timeDeltas = profile.timeDeltas.filter((_, i) => keep[i]);
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? shortPath(n.callFrame.url) : ''}`.trim();
  /** The calling frames (nearest first) of one profile node, skipping anonymous glue. */
  const callersOf = (id: number, depth: number): string[] => {
    const out: string[] = [];
    for (let p = parent.get(id); p !== undefined && out.length < depth; p = parent.get(p)) {
      const n = byId.get(p);
      if (n && n.callFrame.url && !n.callFrame.url.startsWith('node:')) out.push(label(n));
    }
    return out;
  };
  const fn = new Map<
    string,
    { name: string; where: string; us: number; heaviest: number; heaviestUs: number }
  >();
  const groups = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : '';

    const key = `${name}@${where}`;
    const entry = fn.get(key) ?? { name, where, us: 0, heaviest: id, heaviestUs: 0 };
    entry.us += us;
    if (us > entry.heaviestUs) {
      entry.heaviest = id;
      entry.heaviestUs = us;
    }
    fn.set(key, entry);
    const g = groupOf(url);
    groups.set(g, (groups.get(g) ?? 0) + us);
  }
  const incl = new Map<string, { name: string; where: string; us: number }>();
  profile.samples.forEach((leaf, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      if (!n || !n.callFrame.url) continue;
      const name = n.callFrame.functionName || '(anonymous)';
      const where = `${shortPath(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key) ?? { name, where, us: 0 };
      e.us += dt;
      incl.set(key, e);
    }
  });
  return {
    totalMs: totalUs / 1000,
    inclusive: [...incl.values()]
      .filter((e) => e.name !== '(anonymous)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        name: e.name,
        where: e.where,
        totalMs: e.us / 1000,
        pct: (100 * e.us) / totalUs,
      })),
    functions: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        selfMs: f.us / 1000,
        pct: (100 * f.us) / totalUs,
        callers: callersOf(f.heaviest, 4),
      })),
    groups: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([group, us]) => ({ group, selfMs: us / 1000, pct: (100 * us) / totalUs })),
  };
}

export function formatProfileTop(t: ProfileTop): string {
  const lines = [`total sampled ${t.totalMs.toFixed(0)} ms`, '', 'self time by function:'];
  for (const f of t.functions) {
    lines.push(
      `  ${f.pct.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`,
    );
    if (f.callers.length && f.pct >= 1) lines.push(`${' '.repeat(20)}<- ${f.callers.join(' <- ')}`);
  }
  lines.push('', 'inclusive time (function anywhere on the stack):');
  for (const f of t.inclusive) {
    lines.push(
      `  ${f.pct.toFixed(1).padStart(5)}%  ${f.totalMs.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`,
    );
  }
  lines.push('', 'self time by package / folder:');
  for (const g of t.groups) {
    lines.push(
      `  ${g.pct.toFixed(1).padStart(5)}%  ${g.selfMs.toFixed(0).padStart(7)} ms  ${g.group}`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [file, top, from, to] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpu-profile-top <file.cpuprofile> [top] [fromMonoUs toMonoUs]');
    process.exit(2);
  }
  const window: [number, number] | undefined = from && to ? [Number(from), Number(to)] : undefined;
  console.log(formatProfileTop(profileTop(file, Number(top ?? 25), window)));
}
