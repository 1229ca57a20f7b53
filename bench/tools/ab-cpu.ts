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
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { cpuSeconds, freePort, sleep } from '../lib/proc';
import { singleBody } from '../lib/scenarios';

const JWT_SECRET = randomBytes(36).toString('base64url').slice(0, 48);
const ADMIN_PASSWORD = randomBytes(12).toString('hex');
const USER = { username: 'ab-user', password: randomBytes(12).toString('hex') };
const TOPIC = 'ab-ingest';

interface Side {
  child: ChildProcess;
  port: number;
  token: string;
}

async function call(port: number, route: string, body: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function login(port: number, username: string, password: string): Promise<string> {
  const r = await call(port, '/auth/login', { username, password });
  if (typeof r.json.access_token !== 'string') throw new Error(`login ${username}: ${r.status}`);
  return r.json.access_token;
}

async function start(entry: string): Promise<Side> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.resolve(entry)], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PULSAR_HTTP_PORT: String(port),
      PULSAR_HOST: '127.0.0.1',
      PULSAR_BOOTSTRAP_ADMIN_USERNAME: 'admin',
      PULSAR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PULSAR_JWT_SECRET_KEY: JWT_SECRET,
      PULSAR_LOG_LEVEL: 'warn',
      PULSAR_BCRYPT_COST: '4',
      PULSAR_STORAGE_BACKEND: 'memory',
      PULSAR_LOGIN_RATE_LIMIT: '0',
      PULSAR_LOGIN_IP_RATE_LIMIT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      const up = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 150 || child.exitCode !== null) throw new Error(`${entry} did not start`);
      await sleep(200);
    }
    const admin = await login(port, 'admin', ADMIN_PASSWORD);
    const permissions = ['read', 'write'];
    await call(port, '/auth/register', { ...USER, permissions }, admin);
    const token = await login(port, USER.username, USER.password);
    await call(port, '/api/v1/topics', { topic_name: TOPIC }, token);
    return { child, port, token };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** autocannon's option for a fixed offered rate (all connections together); not in its typings. */
type FixedRateOptions = autocannon.Options & { overallRate: number };

function load(side: Side, rate: number, seconds: number) {
  const options: FixedRateOptions = {
    url: `http://127.0.0.1:${side.port}/api/v1/messages`,
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
  const sides: Side[] = [];
  try {
    sides.push(await start(a), await start(b));
    await Promise.all(sides.map((s) => load(s, rate, 3))); // warm-up
    const ratios: number[] = [];
    const perRequest: number[][] = [[], []];
    for (let round = 1; round <= rounds; round++) {
      const before = sides.map((s) => cpuSeconds(s.child.pid ?? 0));
      const results = await Promise.all(sides.map((s) => load(s, rate, seconds)));
      const us = sides.map(
        (s, i) => ((cpuSeconds(s.child.pid ?? 0) - before[i]) * 1e6) / results[i].requests.total,
      );
      const bad = results.map((r) => r.non2xx + r.errors);
      if (bad.some((n) => n > 0)) throw new Error(`non-2xx or errors: A ${bad[0]}, B ${bad[1]}`);
      us.forEach((v, i) => perRequest[i].push(v));
      ratios.push(us[1] / us[0]);
      console.log(
        `round ${round}: A ${us[0].toFixed(1)} µs/req, B ${us[1].toFixed(1)} µs/req, B/A ${(us[1] / us[0]).toFixed(3)}`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
    console.log(
      `median: A ${median(perRequest[0]).toFixed(1)} µs/req, B ${median(perRequest[1]).toFixed(1)} µs/req; ` +
        `median B/A ${median(ratios).toFixed(3)} (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`,
    );
  } finally {
    for (const s of sides) s.child.kill('SIGKILL');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
