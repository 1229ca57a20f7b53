/**
 * CPU per single publish of two relay builds, side by side: both run at the same time, each
 * under the same fixed offered load (autocannon `overallRate`), so a change in the machine's
 * speed falls on both alike. On this shared VM back-to-back throughput windows of the same build
 * differ by up to 2x; at the same time and a fixed rate, two copies of one build agree within
 * ~10 % per round. Use it to tell whether a change to the publish path saves CPU.
 *
 *   npm run build && cp -r dist /tmp/before   # ... change, then npm run build again
 *   npx ts-node --transpile-only bench/tools/ab-cpu.ts /tmp/before/main.js dist/main.js [rate] [seconds] [rounds]
 *
 * A build outside the work tree needs the work tree's node_modules and package.json beside it
 * (`ln -s $PWD/node_modules $PWD/package.json /tmp/`). Prints µs of CPU (user + system, all
 * threads) per request for A and B each round, and B/A.
 */
import autocannon from 'autocannon';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuSeconds } from '../lib/proc';
import { benchUserToken, createTopics, Relay, startRelay } from '../lib/relay';
import { singleBody } from '../lib/scenarios';
import { median } from '../lib/stats';

const TOPIC = 'ab-ingest';

interface Side {
  relay: Relay;
  token: string;
}

async function start(name: string, entry: string, logDir: string): Promise<Side> {
  const relay = await startRelay({ name, backend: 'memory', logDir, entry: path.resolve(entry) });
  try {
    const token = await benchUserToken(relay);
    await createTopics(relay, token, [TOPIC]);
    return { relay, token };
  } catch (error) {
    await relay.stop();
    throw error;
  }
}

/** autocannon's option for a fixed offered rate (all connections together); not in its typings. */
type FixedRateOptions = autocannon.Options & { overallRate: number };

function load(side: Side, rate: number, seconds: number) {
  const options: FixedRateOptions = {
    url: `${side.relay.baseUrl}/api/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${side.token}` },
    body: singleBody(TOPIC),
    connections: 20,
    overallRate: rate,
    duration: seconds,
  };
  return autocannon(options);
}

async function main(): Promise<void> {
  const [a, b] = process.argv.slice(2, 4);
  if (!a || !b)
    throw new Error('usage: ab-cpu.ts <a/main.js> <b/main.js> [rate] [seconds] [rounds]');
  const rate = Number(process.argv[4] ?? 2500);
  const seconds = Number(process.argv[5] ?? 6);
  const rounds = Number(process.argv[6] ?? 8);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulsar-ab-'));
  const sides: Side[] = [];
  try {
    sides.push(await start('ab-a', a, logDir), await start('ab-b', b, logDir));
    await Promise.all(sides.map((s) => load(s, rate, 3))); // warm-up
    const ratios: number[] = [];
    const perRequest: number[][] = [[], []];
    for (let round = 1; round <= rounds; round++) {
      const before = sides.map((s) => cpuSeconds(s.relay.pid));
      const results = await Promise.all(sides.map((s) => load(s, rate, seconds)));
      const us = sides.map(
        (s, i) => ((cpuSeconds(s.relay.pid) - before[i]) * 1e6) / results[i].requests.total,
      );
      const bad = results.map((r) => r.non2xx + r.errors);
      if (bad.some((n) => n > 0)) throw new Error(`non-2xx or errors: A ${bad[0]}, B ${bad[1]}`);
      us.forEach((v, i) => perRequest[i].push(v));
      ratios.push(us[1] / us[0]);
      console.log(
        `round ${round}: A ${us[0].toFixed(1)} µs/req, B ${us[1].toFixed(1)} µs/req, B/A ${(us[1] / us[0]).toFixed(3)}`,
      );
    }
    console.log(
      `median: A ${median(perRequest[0]).toFixed(1)} µs/req, B ${median(perRequest[1]).toFixed(1)} µs/req; ` +
        `median B/A ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`,
    );
  } finally {
    await Promise.all(sides.map((s) => s.relay.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
