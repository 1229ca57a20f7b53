/**
 * Load generator: opens many WebSocket subscribers (spread over source addresses), subscribes
 * each to one topic, and accounts for every `message` frame: per-socket duplicate detection,
 * loss against the publisher's acknowledged sequence numbers, and publish→delivery latency.
 */
import WebSocket from 'ws';

import {
  AckedSeqs,
  cpuSince,
  epochMs,
  sendToParent,
  workerMain,
  WsClientsConfig,
  WsConnectedEvent,
  WsReportEvent,
} from '../lib/ipc';
import { Samples } from '../lib/stats';

class BitSet {
  private bits = new Uint8Array(128);

  /** Sets bit `i`; returns false when it was already set. */
  add(i: number): boolean {
    const byte = i >> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      next.set(this.bits);
      this.bits = next;
    }
    const mask = 1 << (i & 7);
    if (this.bits[byte] & mask) return false;
    this.bits[byte] |= mask;
    return true;
  }

  has(i: number): boolean {
    const byte = i >> 3;
    return byte < this.bits.length && (this.bits[byte] & (1 << (i & 7))) !== 0;
  }
}

interface Client {
  ws: WebSocket;
  subscribed: boolean;
  closed: boolean;
  unique: number;
  seen: Map<number, BitSet>;
}

const KEY_TYPE_MESSAGE = Buffer.from('"type":"message"');
const KEY_SUBSCRIBED = Buffer.from('"type":"subscribed"');
const KEY_ERROR = Buffer.from('"type":"error"');
const KEY_PUB = Buffer.from('"pub":');
const KEY_SEQ = Buffer.from('"seq":');
const KEY_T = Buffer.from('"t":');

/** Reads the JSON number that follows `key` without parsing the whole frame. */
function numberAfter(buf: Buffer, key: Buffer): number {
  const at = buf.indexOf(key);
  if (at < 0) return NaN;
  let end = at + key.length;
  while (end < buf.length) {
    const c = buf[end];
    // digits, '.', '-', '+', 'e', 'E'
    if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69) end++;
    else break;
  }
  return Number(buf.toString('latin1', at + key.length, end));
}

let cfg: WsClientsConfig;
const clients: Client[] = [];
const pending = new Map<number, number>();
const latencies = new Samples();
let received = 0;
let duplicates = 0;
let subscribedCount = 0;
let cpu0 = process.cpuUsage();

function onFrame(client: Client, data: Buffer): void {
  if (data.indexOf(KEY_TYPE_MESSAGE) < 0) return;
  const now = epochMs();
  received++;
  const pub = numberAfter(data, KEY_PUB);
  const seq = numberAfter(data, KEY_SEQ);
  if (!Number.isInteger(pub) || !Number.isInteger(seq)) return;
  let bits = client.seen.get(pub);
  if (!bits) client.seen.set(pub, (bits = new BitSet()));
  if (!bits.add(seq)) {
    duplicates++;
    return;
  }
  client.unique++;
  if (cfg.recordLatency) {
    const t = numberAfter(data, KEY_T);
    if (Number.isFinite(t)) latencies.push(now - t);
  }
  if (cfg.reportDone) {
    const key = pub * 1e9 + seq;
    const n = (pending.get(key) ?? 0) + 1;
    if (n >= subscribedCount) {
      pending.delete(key);
      sendToParent({ ev: 'done', workerIndex: cfg.workerIndex, pub, seq });
    } else {
      pending.set(key, n);
    }
  }
}

function openOne(i: number): Promise<string | null> {
  return new Promise((resolve) => {
    const local = cfg.localAddresses.length
      ? cfg.localAddresses[i % cfg.localAddresses.length]
      : undefined;
    const ws = new WebSocket(cfg.url, {
      localAddress: local,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    const client: Client = { ws, subscribed: false, closed: false, unique: 0, seen: new Map() };
    let settled = false;
    const settle = (err: string | null) => {
      if (!settled) {
        settled = true;
        resolve(err);
      }
    };
    ws.on('open', () => {
      const topic = cfg.topics[i % cfg.topics.length];
      ws.send(
        JSON.stringify({
          type: 'subscribe',
          topics: [topic],
          client_id: `bench-${cfg.workerIndex}-${i}`,
        }),
      );
    });
    ws.on('message', (data: Buffer) => {
      if (client.subscribed) {
        onFrame(client, data);
      } else if (data.indexOf(KEY_SUBSCRIBED) >= 0) {
        client.subscribed = true;
        subscribedCount++;
        clients.push(client);
        settle(null);
      } else if (data.indexOf(KEY_ERROR) >= 0) {
        settle(`error frame: ${data.toString('utf8').slice(0, 200)}`);
        ws.terminate();
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      settle(`handshake answered ${res.statusCode}`);
      ws.terminate();
    });
    ws.on('error', (err) => settle(err.message));
    ws.on('close', () => {
      client.closed = true;
      settle('closed before subscribed');
    });
  });
}

async function connectAll(): Promise<WsConnectedEvent> {
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const lane = async () => {
    while (next < cfg.count) {
      const err = await openOne(next++);
      if (err) {
        failed++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cfg.connectConcurrency) }, lane));
  cpu0 = process.cpuUsage();
  return {
    ev: 'connected',
    open: clients.filter((c) => !c.closed).length,
    subscribed: subscribedCount,
    failed,
    firstError,
    elapsedMs: performance.now() - t0,
  };
}

function report(acked: AckedSeqs, light: boolean): WsReportEvent {
  let lost = 0;
  let matched = 0;
  let unique = 0;
  let closedEarly = 0;
  for (const c of clients) {
    unique += c.unique;
    if (c.closed) closedEarly++;
    for (const [pub, seqs] of Object.entries(acked)) {
      const bits = c.seen.get(Number(pub));
      for (const s of seqs) {
        if (bits?.has(s)) matched++;
        else lost++;
      }
    }
  }
  return {
    ev: 'report',
    sockets: clients.length,
    received,
    lost,
    duplicates,
    unacked: unique - matched,
    closedEarly,
    latenciesMs: light ? [] : latencies.toArray(),
    cpu: cpuSince(cpu0),
  };
}

workerMain(async (msg) => {
  switch (msg.cmd) {
    case 'connect':
      cfg = msg.config as WsClientsConfig;
      sendToParent(await connectAll());
      break;
    case 'report':
      sendToParent(report(msg.acked as AckedSeqs, msg.light === true));
      break;
    case 'close':
      for (const c of clients) c.ws.terminate();
      sendToParent({ ev: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});
