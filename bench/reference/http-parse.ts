/**
 * Reference: raw node:http ingest that only parses the JSON body and answers like the relay
 * (201 for a single message, 207 with per-item results for a bulk). No auth, no validation,
 * no storage: the physical limit of "HTTP in, JSON.parse, JSON out" on this machine.
 */
import * as http from 'node:http';

interface Incoming {
  topic?: string;
  messages?: { topic?: string }[];
}

let seq = 0;
const nextId = (): string => `${Date.now()}-${seq++}`;

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
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
    const timestamp = new Date().toISOString();
    if (req.url === '/api/v1/messages/bulk' && Array.isArray(body.messages)) {
      const results = body.messages.map((m) => ({
        message_id: nextId(),
        topic: m.topic,
        status: 'accepted',
        error: null,
      }));
      reply(res, 207, {
        results,
        summary: { total: results.length, accepted: results.length, rejected: 0 },
      });
      return;
    }
    reply(res, 201, { message_id: nextId(), topic: body.topic, timestamp });
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
