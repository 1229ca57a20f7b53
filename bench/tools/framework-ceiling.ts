/**
 * How fast can any route be, before the relay does anything? Serves the single-publish body
 * (`POST /api/v1/messages`, 201 with a small JSON answer) from three empty servers in turn, each
 * in its own process, and drives each with the same autocannon load as the bench:
 *
 *   raw      node:http + JSON.parse (the bench's reference)
 *   express  Express 5: express.json() + one route + res.json
 *   nest     Nest 11 on Express: one @Post() handler returning an object (no guards, no pipes)
 *
 *   npx ts-node --transpile-only bench/tools/framework-ceiling.ts [seconds] [rounds]
 *
 * Rounds alternate the servers so that machine noise falls on all of them alike.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

const PORT = 39_871;
const BODY = JSON.stringify({
  topic: 'bench-topic',
  payload: {
    n: 1,
    text: 'hello world hello world hello world',
    values: [1, 2, 3, 4, 5],
    nested: { a: 'b', c: 'd' },
  },
  ttl: 3600,
});

const ANSWER = `{ message_id: '1-0', topic: body.topic, timestamp: new Date().toISOString() }`;

const SERVERS: Record<string, string> = {
  raw: `
    const http = require('node:http');
    http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const text = JSON.stringify(${ANSWER});
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    }).listen(${PORT}, '127.0.0.1', () => process.send('ready'));`,
  express: `
    const express = require('express');
    const app = express();
    app.set('etag', false);
    app.use(express.json());
    app.post('/api/v1/messages', (req, res) => { const body = req.body; res.status(201).json(${ANSWER}); });
    app.listen(${PORT}, '127.0.0.1', () => process.send('ready'));`,
  nest: `
    require('reflect-metadata');
    const { NestFactory } = require('@nestjs/core');
    const { Body, Controller, HttpCode, Module, Post } = require('@nestjs/common');
    class Messages { publish(body) { return ${ANSWER}; } }
    Reflect.decorate([Post(), HttpCode(201)], Messages.prototype, 'publish',
      Object.getOwnPropertyDescriptor(Messages.prototype, 'publish'));
    Body()(Messages.prototype, 'publish', 0);
    Controller('api/v1/messages')(Messages);
    class App {}
    Module({ controllers: [Messages] })(App);
    NestFactory.create(App, { logger: false }).then(async (app) => {
      app.getHttpAdapter().getInstance().set('etag', false);
      await app.listen(${PORT}, '127.0.0.1');
      process.send('ready');
    });`,
};

async function start(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', SERVERS[name]], {
    cwd: process.cwd(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'message');
  return child;
}

async function load(seconds: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${PORT}/api/v1/messages`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: 50,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return result.requests.average;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 8);
  const rounds = Number(process.argv[3] ?? 3);
  const figures: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(SERVERS)) {
      const child = await start(name);
      try {
        await load(1); // warm-up
        (figures[name] ??= []).push(await load(seconds));
      } finally {
        child.kill();
        await once(child, 'exit');
      }
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const raw = median(figures.raw);
  for (const [name, xs] of Object.entries(figures)) {
    const m = median(xs);
    const runs = xs.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');
    console.log(
      `${name.padEnd(8)} ${Math.round(m).toLocaleString('en-US').padStart(7)} req/s  ` +
        `(${(m / raw).toFixed(2)} x raw; runs: ${runs})`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
