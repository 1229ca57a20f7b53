/**
 * Reference: raw node:http ingest that parses the JSON body and appends each message to a
 * Valkey stream with `XADD MAXLEN ~` through ioredis before answering (201, or 207 for a bulk,
 * whose XADDs go in one pipeline). The physical limit of "HTTP in, durable append, JSON out".
 */
import * as http from 'node:http';
import Redis from 'ioredis';

interface Msg {
  topic?: string;
  payload?: unknown;
}
interface Incoming extends Msg {
  messages?: Msg[];
}

const MAXLEN = Number(process.env.MAXLEN ?? 1_000_000);
const redis = new Redis({
  host: process.env.VALKEY_HOST ?? '127.0.0.1',
  port: Number(process.env.VALKEY_PORT),
  lazyConnect: false,
});

const streamKey = (topic: string | undefined): string => `ref:{${topic ?? ''}}:stream`;
const record = (m: Msg, timestamp: string): string =>
  JSON.stringify({ payload: m.payload, timestamp, metadata: {} });

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function handle(url: string | undefined, body: Incoming, res: http.ServerResponse) {
  const timestamp = new Date().toISOString();
  if (url === '/api/v1/messages/bulk' && Array.isArray(body.messages)) {
    const pipeline = redis.pipeline();
    for (const m of body.messages) {
      pipeline.xadd(streamKey(m.topic), 'MAXLEN', '~', MAXLEN, '*', 'm', record(m, timestamp));
    }
    const out = (await pipeline.exec()) ?? [];
    const results = body.messages.map((m, i) => {
      const [err, id] = out[i] ?? [new Error('no reply'), null];
      return err
        ? { message_id: null, topic: m.topic, status: 'rejected', error: err.message }
        : { message_id: id, topic: m.topic, status: 'accepted', error: null };
    });
    const accepted = results.filter((r) => r.status === 'accepted').length;
    reply(res, 207, {
      results,
      summary: { total: results.length, accepted, rejected: results.length - accepted },
    });
    return;
  }
  const id = await redis.xadd(
    streamKey(body.topic),
    'MAXLEN',
    '~',
    MAXLEN,
    '*',
    'm',
    record(body, timestamp),
  );
  reply(res, 201, { message_id: id, topic: body.topic, timestamp });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    reply(res, 200, { status: 'healthy' });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: Incoming;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Incoming;
    } catch {
      reply(res, 422, { detail: 'invalid JSON', code: 'VALIDATION_ERROR' });
      return;
    }
    handle(req.url, body, res).catch((err: unknown) => {
      reply(res, 503, { detail: String(err), code: 'STORAGE_UNAVAILABLE' });
    });
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
