/**
 * Reference: raw `ws` server. Clients subscribe to topics with the relay's subscribe frame;
 * `POST /api/v1/messages` parses the body, serialises the relay's `message` frame once and
 * sends it to every subscriber of the topic. The physical limit of WebSocket fan-out here.
 */
import * as http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const topics = new Map<string, Set<WebSocket>>();
let seq = 0;

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
    let body: { topic?: string; payload?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      reply(res, 422, { detail: 'invalid JSON', code: 'VALIDATION_ERROR' });
      return;
    }
    const topic = String(body.topic);
    const messageId = `${Date.now()}-${seq++}`;
    const timestamp = new Date().toISOString();
    const frame = Buffer.from(
      JSON.stringify({
        type: 'message',
        message_id: messageId,
        topic,
        payload: body.payload,
        timestamp,
        metadata: {},
      }),
    );
    for (const ws of topics.get(topic) ?? []) {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: false });
    }
    reply(res, 201, { message_id: messageId, topic, timestamp });
  });
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const mine = new Set<string>();
  ws.on('message', (data: Buffer) => {
    let frame: { type?: string; topics?: string[] };
    try {
      frame = JSON.parse(data.toString('utf8')) as typeof frame;
    } catch {
      ws.send(JSON.stringify({ type: 'error', code: 'INVALID_FRAME', message: 'invalid JSON' }));
      return;
    }
    if (frame.type === 'subscribe' && Array.isArray(frame.topics)) {
      for (const t of frame.topics) {
        let set = topics.get(t);
        if (!set) topics.set(t, (set = new Set()));
        set.add(ws);
        mine.add(t);
      }
      ws.send(
        JSON.stringify({
          type: 'subscribed',
          topics: frame.topics,
          session_id: `sess_${seq++}`,
          timestamp: new Date().toISOString(),
        }),
      );
    } else if (frame.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong', timestamp: new Date().toISOString() }));
    }
  });
  ws.on('close', () => {
    for (const t of mine) topics.get(t)?.delete(ws);
  });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
