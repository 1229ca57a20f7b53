import { request } from 'node:http';
import WebSocket from 'ws';
import { http, HttpResult } from './http';

/** Client helpers shared by the e2e suites: WebSocket and raw HTTP clients, load, waiting. */

export interface Frame {
  type?: string;
  [key: string]: any;
}

export interface WsHandshakeRefusal {
  status: number;
  body: string;
}

export interface WsClientOptions {
  token?: string;
  /** `query` (`?token=`) or `subprotocol` (`bearer`, `bearer.<jwt>`). */
  via?: 'query' | 'subprotocol';
  headers?: Record<string, string>;
  protocols?: string[];
  maxPayload?: number;
}

/** A WebSocket client that queues frames so tests can await them in order. */
export class WsClient {
  readonly frames: Frame[] = [];
  readonly raw: Array<string | Buffer> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private closeInfo: { code: number; reason: string } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.raw.push(isBinary ? data : data.toString());
      try {
        this.frames.push(JSON.parse(data.toString()) as Frame);
      } catch {
        this.frames.push({ type: '__unparsable__', text: data.toString() });
      }
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => {
      /* surfaced through `closed` */
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get closeCode(): number | null {
    return this.closeInfo?.code ?? null;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Removes and returns the first queued frame matching `match`, waiting up to `timeoutMs`. */
  async next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.closeInfo) {
        throw new Error(
          `socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting; queued: ${JSON.stringify(this.frames).slice(0, 500)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms; queued: ${JSON.stringify(this.frames).slice(0, 500)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  nextOfType(type: string, timeoutMs = 5000): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  /** Frames of `type` received so far (left in the queue). */
  peek(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  async subscribe(
    topics: string[],
    extra: Record<string, unknown> = {},
    timeoutMs = 5000,
  ): Promise<Frame> {
    this.send({ type: 'subscribe', topics, ...extra });
    return this.next((f) => f.type === 'subscribed' || f.type === 'error', timeoutMs);
  }

  /**
   * Subscribes, then pings: returns every frame that arrived before the pong (`subscribed` and
   * any per-topic `error` frames, which follow it).
   */
  async subscribeCollect(
    topics: string[],
    extra: Record<string, unknown> = {},
    timeoutMs = 5000,
  ): Promise<Frame[]> {
    this.send({ type: 'subscribe', topics, ...extra });
    await this.next((f) => f.type === 'subscribed' || f.type === 'error', timeoutMs).then((f) =>
      this.frames.unshift(f),
    );
    this.send({ type: 'ping' });
    const out: Frame[] = [];
    for (;;) {
      const f = await this.next(() => true, timeoutMs);
      if (f.type === 'pong') return out;
      out.push(f);
    }
  }

  /** Sends an app-level ping and waits for the pong: proves the connection is still usable. */
  async ping(timeoutMs = 5000): Promise<Frame> {
    this.send({ type: 'ping' });
    return this.nextOfType('pong', timeoutMs);
  }

  close(code = 1000): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      this.ws.close(code);
    }
    return this.closed;
  }

  terminate(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function wsUrlFor(url: string, options: WsClientOptions): { url: string; protocols?: string[] } {
  const via = options.via ?? 'subprotocol';
  if (options.token && via === 'query') {
    return {
      url: `${url}?token=${encodeURIComponent(options.token)}`,
      protocols: options.protocols,
    };
  }
  if (options.token) {
    return { url, protocols: options.protocols ?? ['bearer', `bearer.${options.token}`] };
  }
  return { url, protocols: options.protocols };
}

/**
 * Opens a socket. Resolves with a client once open, or with the HTTP refusal when the server
 * answers the upgrade with a non-101 status (a handshake failure is HTTP, before the upgrade).
 */
export function tryConnectWs(
  url: string,
  options: WsClientOptions = {},
  timeoutMs = 10_000,
): Promise<WsClient | WsHandshakeRefusal> {
  const target = wsUrlFor(url, options);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target.url, target.protocols ?? [], {
      headers: options.headers,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
      handshakeTimeout: timeoutMs,
    });
    const client = new WsClient(ws);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket handshake to ${url} timed out`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(client);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export function isRefusal(x: WsClient | WsHandshakeRefusal): x is WsHandshakeRefusal {
  return !(x instanceof WsClient);
}

export async function connectWs(
  url: string,
  options: WsClientOptions = {},
  timeoutMs = 10_000,
): Promise<WsClient> {
  const result = await tryConnectWs(url, options, timeoutMs);
  if (isRefusal(result)) {
    throw new Error(`WebSocket handshake refused: ${result.status} ${result.body}`);
  }
  return result;
}

export interface StoredMessage {
  message_id: string;
  topic: string;
  payload: any;
  timestamp: string;
  metadata: Record<string, string>;
}

/** Reads every stored message of a topic, oldest first, through the paging API. */
export async function readAllMessages(
  baseUrl: string,
  token: string,
  topic: string,
): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100_000; page++) {
    const query: string = `order=asc&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res: HttpResult = await http(
      baseUrl,
      'GET',
      `/api/v1/topics/${encodeURIComponent(topic)}/messages?${query}`,
      { token },
    );
    if (res.status !== 200) {
      throw new Error(`paging ${topic} failed: ${res.status} ${res.text.slice(0, 300)}`);
    }
    const messages = res.body.messages as StoredMessage[];
    if (messages.length === 0) break;
    out.push(...messages);
    cursor = res.body.next_cursor ?? messages[messages.length - 1].message_id;
  }
  return out;
}

/** `<ms>-<seq>` ids compared numerically. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

export interface Ack {
  id: string;
  topic: string;
  seq: number;
  /** Client time (ms) when the 2xx arrived. */
  ackedAt: number;
}

export interface PublishOutcome {
  status: number;
  /** Client time (ms) when the request was sent. */
  startedAt: number;
  latencyMs: number;
  code?: string;
  /** The `payload.seq` values the request carried. */
  seqs: number[];
}

export interface LoadGenerator {
  readonly acks: Ack[];
  readonly outcomes: PublishOutcome[];
  /** Stops issuing new requests and waits for the in-flight ones. */
  stop(): Promise<void>;
}

/**
 * Publishes as fast as `concurrency` loops allow (or at `ratePerSecond` overall), recording every
 * acknowledged message (2xx) with its id and the client time of the acknowledgement.
 */
export function startPublishLoad(options: {
  baseUrl: string | (() => string);
  token: string;
  topics: string[];
  concurrency?: number;
  ratePerSecond?: number;
  /** Every n-th request is a bulk publish of `bulkSize` messages (0 = never). */
  bulkEvery?: number;
  bulkSize?: number;
  requestTimeoutMs?: number;
  payloadBytes?: number;
}): LoadGenerator {
  const concurrency = options.concurrency ?? 8;
  const acks: Ack[] = [];
  const outcomes: PublishOutcome[] = [];
  let running = true;
  let seq = 0;
  let issued = 0;
  const started = Date.now();
  const filler = 'x'.repeat(options.payloadBytes ?? 64);
  const base = (): string =>
    typeof options.baseUrl === 'string' ? options.baseUrl : options.baseUrl();

  /** One publish request; records its outcome and returns the answer (2xx or not). */
  async function post(
    path: string,
    body: unknown,
    seqs: number[],
    t0: number,
  ): Promise<{ ok: boolean; body: any; at: number }> {
    const res = await fetch(`${base()}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 10_000),
    });
    const answer: any = await res.json().catch(() => null);
    const at = Date.now();
    outcomes.push({
      status: res.status,
      startedAt: t0,
      latencyMs: at - t0,
      code: answer?.code,
      seqs,
    });
    return { ok: res.status >= 200 && res.status < 300, body: answer, at };
  }

  async function one(): Promise<void> {
    const n = issued++;
    const topic = options.topics[n % options.topics.length];
    const bulk = options.bulkEvery && n % options.bulkEvery === options.bulkEvery - 1;
    const t0 = Date.now();
    try {
      if (bulk) {
        const items = Array.from({ length: options.bulkSize ?? 10 }, () => ({
          topic,
          payload: { seq: ++seq, filler },
        }));
        const seqs = items.map((i) => i.payload.seq);
        const r = await post('/api/v1/messages/bulk', { messages: items }, seqs, t0);
        if (r.ok && Array.isArray(r.body?.results)) {
          r.body.results.forEach((result: any, i: number) => {
            if (result.status === 'accepted' && result.message_id) {
              acks.push({ id: result.message_id, topic, seq: seqs[i], ackedAt: r.at });
            }
          });
        }
      } else {
        const mySeq = ++seq;
        const r = await post(
          '/api/v1/messages',
          { topic, payload: { seq: mySeq, filler } },
          [mySeq],
          t0,
        );
        if (r.ok && r.body?.message_id) {
          acks.push({ id: r.body.message_id, topic, seq: mySeq, ackedAt: r.at });
        }
      }
    } catch {
      outcomes.push({ status: 0, startedAt: t0, latencyMs: Date.now() - t0, seqs: [] });
      // Connection refused or reset: back off a little so a dead relay is not spun on.
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      if (options.ratePerSecond) {
        const due = started + (issued / options.ratePerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!running) break;
      }
      await one();
    }
  }

  const loops = Array.from({ length: concurrency }, () => loop());
  return {
    acks,
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export async function waitFor<T>(
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A topic name unique to this run. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

export const SOAK = process.env.PULSAR_SOAK === '1';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

/**
 * One HTTP request through node:http, for what fetch will not send: any Host header, invalid
 * UTF-8, chunked bodies, oversized headers. Never throws on an HTTP status; a reset connection
 * resolves with status 0.
 */
export function rawRequest(
  baseUrl: string,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
    /** Sent chunked (no Content-Length), one write per chunk. */
    chunks?: Buffer[];
    timeoutMs?: number;
  },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            /* keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on('error', () =>
          resolve({ status: res.statusCode ?? 0, headers: {}, text: '', body: null }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) =>
      resolve({ status: 0, headers: {}, text: String(error), body: null }),
    );
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
    } else if (options.body !== undefined) {
      req.write(options.body);
    }
    req.end();
  });
}

/** A contract error body: `{detail: string, code}` or, for 422, `{detail: [{loc,msg,type}], code}`. */
export function isContractError(status: number, body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  if (typeof b.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(b.code)) return false;
  if (status === 422) {
    return (
      Array.isArray(b.detail) &&
      b.detail.length > 0 &&
      b.detail.every(
        (d: any) =>
          d &&
          Array.isArray(d.loc) &&
          d.loc.every((x: unknown) => typeof x === 'string' || typeof x === 'number') &&
          typeof d.msg === 'string' &&
          typeof d.type === 'string',
      )
    );
  }
  return typeof b.detail === 'string';
}
