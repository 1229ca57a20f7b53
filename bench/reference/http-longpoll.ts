/**
 * Reference: raw node:http long-poll server. `POST /messages/poll` parks the request under its
 * topics; `POST /api/v1/messages` serialises one answer and releases every parked request of
 * the topic at once. `GET /messages/poll/stats` counts the parked requests.
 */
import * as http from 'node:http';

interface Waiter {
  res: http.ServerResponse;
  topics: string[];
  timer: NodeJS.Timeout;
}

const waiters = new Map<string, Set<Waiter>>();
let active = 0;
let seq = 0;

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function release(w: Waiter, body: string): void {
  clearTimeout(w.timer);
  for (const t of w.topics) waiters.get(t)?.delete(w);
  active--;
  reply(w.res, 200, body);
}

function readJson(req: http.IncomingMessage, fn: (body: Record<string, unknown> | null) => void) {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      fn(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
    } catch {
      fn(null);
    }
  });
}

const EMPTY = JSON.stringify({ messages: [], has_more: false });

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    reply(res, 200, JSON.stringify({ status: 'healthy', active_waiters: active }));
    return;
  }
  readJson(req, (body) => {
    if (!body) {
      reply(res, 422, JSON.stringify({ detail: 'invalid JSON', code: 'VALIDATION_ERROR' }));
      return;
    }
    if (req.url === '/messages/poll') {
      const topics = Array.isArray(body.topics) ? body.topics.map(String) : [];
      const timeout = Number(body.timeout ?? 30);
      const w: Waiter = { res, topics, timer: setTimeout(() => release(w, EMPTY), timeout * 1000) };
      for (const t of topics) {
        let set = waiters.get(t);
        if (!set) waiters.set(t, (set = new Set()));
        set.add(w);
      }
      active++;
      return;
    }
    const topic = String(body.topic);
    const message_id = `${Date.now()}-${seq++}`;
    const timestamp = new Date().toISOString();
    const answer = JSON.stringify({
      messages: [
        {
          type: 'message',
          topic,
          message_id,
          payload: body.payload,
          timestamp,
          metadata: {},
          stream_id: message_id,
        },
      ],
      has_more: false,
    });
    for (const w of [...(waiters.get(topic) ?? [])]) release(w, answer);
    reply(res, 201, JSON.stringify({ message_id, topic, timestamp }));
  });
});

server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
