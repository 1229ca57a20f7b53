import type { IncomingHttpHeaders } from 'node:http';
import WebSocket, { ClientOptions } from 'ws';

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface ConnectOptions {
  /** `query` (`?token=`), `subprotocol` (`bearer, bearer.<JWT>`) or none. */
  via?: 'query' | 'subprotocol';
  token?: string;
  protocols?: string[];
  headers?: Record<string, string>;
  options?: ClientOptions;
  timeoutMs?: number;
}

function target(url: string, opts: ConnectOptions): { url: string; protocols: string[] } {
  const protocols = [...(opts.protocols ?? [])];
  if (opts.token && opts.via === 'subprotocol') protocols.push('bearer', `bearer.${opts.token}`);
  const full =
    opts.token && (opts.via ?? 'query') === 'query'
      ? `${url}?token=${encodeURIComponent(opts.token)}`
      : url;
  return { url: full, protocols };
}

/** A real `ws` client that queues every frame it receives; every wait has a timeout. */
export class WsClient {
  readonly frames: any[] = [];
  readonly closed: Promise<CloseInfo>;
  private listeners: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      this.frames.push(isBinary ? { binary: data } : JSON.parse(data.toString('utf8')));
      for (const listener of this.listeners) listener();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const listener of this.listeners) listener();
      });
    });
  }

  static connect(url: string, opts: ConnectOptions = {}): Promise<WsClient> {
    const { url: full, protocols } = target(url, opts);
    const ws = new WebSocket(full, protocols, { headers: opts.headers, ...opts.options });
    const client = new WsClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('WebSocket connect timed out'));
      }, opts.timeoutMs ?? 5000);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        reject(new Error(`handshake refused with ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(
      typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame),
    );
  }

  /** Removes and returns the first queued frame matching `predicate`, waiting for it if needed. */
  take(predicate: (frame: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const index = this.frames.findIndex(predicate);
        if (index < 0) return false;
        const [frame] = this.frames.splice(index, 1);
        resolve(frame);
        return true;
      };
      if (check()) return;
      const listener = (): void => {
        if (check()) done();
        else if (this.ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`socket closed; frames: ${JSON.stringify(this.frames).slice(0, 500)}`));
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no matching frame in ${timeoutMs} ms; queued: ${JSON.stringify(this.frames).slice(0, 500)}`,
          ),
        );
      }, timeoutMs);
      this.listeners.push(listener);
    });
  }

  takeType(type: string, timeoutMs?: number): Promise<any> {
    return this.take((f) => f.type === type, timeoutMs);
  }

  async subscribe(frame: Record<string, unknown>, timeoutMs?: number): Promise<any> {
    this.send({ type: 'subscribe', ...frame });
    return this.takeType('subscribed', timeoutMs);
  }

  /** Collects `count` message frames of `topic`, in arrival order. */
  async messages(topic: string, count: number, timeoutMs = 15000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    const out: any[] = [];
    while (out.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`got ${out.length}/${count} messages of ${topic}`);
      try {
        out.push(await this.take((f) => f.type === 'message' && f.topic === topic, left));
      } catch (error) {
        throw new Error(`got ${out.length}/${count} messages of ${topic}: ${String(error)}`);
      }
    }
    return out;
  }

  /** A ping/pong round trip: every frame the server sent before the pong is then queued. */
  async roundTrip(timeoutMs = 5000): Promise<void> {
    this.send({ type: 'ping' });
    await this.takeType('pong', timeoutMs);
  }

  queued(type: string): any[] {
    return this.frames.filter((f) => f.type === type);
  }

  async close(): Promise<CloseInfo> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000);
    }
    const timer = setTimeout(() => this.ws.terminate(), 3000);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

/** Opens a handshake that must be refused before the upgrade; returns the HTTP answer. */
export function refused(url: string, opts: ConnectOptions = {}): Promise<Refusal> {
  const { url: full, protocols } = target(url, opts);
  const ws = new WebSocket(full, protocols, { headers: opts.headers, ...opts.options });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no answer to the handshake'));
    }, opts.timeoutMs ?? 5000);
    ws.once('open', () => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error('handshake was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
    });
    ws.once('error', () => undefined);
  });
}
