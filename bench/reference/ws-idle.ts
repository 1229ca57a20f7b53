/**
 * Reference: raw idle `ws` server. Each client sends the relay's subscribe frame, is recorded
 * under its topic and answered `subscribed`; then the connection just sits there. Measures what
 * an idle, subscribed WebSocket costs in server memory with nothing in the way.
 */
import * as http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';

const topics = new Map<string, Set<WebSocket>>();
let sessions = 0;

const server = http.createServer((req, res) => {
  const text = JSON.stringify({ status: 'healthy', connections: wss.clients.size });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(text);
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => {
    let frame: { type?: string; topics?: string[] };
    try {
      frame = JSON.parse(data.toString('utf8')) as typeof frame;
    } catch {
      return;
    }
    if (frame.type !== 'subscribe' || !Array.isArray(frame.topics)) return;
    for (const t of frame.topics) {
      let set = topics.get(t);
      if (!set) topics.set(t, (set = new Set()));
      set.add(ws);
    }
    ws.send(
      JSON.stringify({
        type: 'subscribed',
        topics: frame.topics,
        session_id: `sess_${sessions++}`,
        timestamp: new Date().toISOString(),
      }),
    );
    ws.once('close', () => {
      for (const t of frame.topics ?? []) topics.get(t)?.delete(ws);
    });
  });
});

server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
