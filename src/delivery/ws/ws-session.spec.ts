import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { StoredMessage } from '../../storage/ports';
import { OutboundMessage } from '../outbound-message';
import { SendBatch } from '../send-batch';
import { SessionContext, WsSession } from './ws-session';

const user = { userId: 'u1', username: 'u', permissions: [], jti: null, exp: 0 };

function message(i: number): OutboundMessage {
  const stored: StoredMessage = {
    id: `1700000000000-${i}`,
    topic: 't',
    payload: { i },
    metadata: {},
    timestamp: '2023-11-14T22:13:20.000Z',
    expiresAt: null,
  };
  return new OutboundMessage(stored);
}

/**
 * A real `ws` server and client on loopback; the session gets the server side and the real
 * upgrade socket. Counts the socket's writes to the kernel (`_write` for one chunk, `_writev`
 * for several).
 */
async function pair(maxBufferedBytes: number) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const errors: string[] = [];
  const batch = new SendBatch();
  const ctx = {
    maxBufferedBytes,
    batch,
    metrics: { error: (code: string) => errors.push(code) },
    logger: new Logger('test'),
  } as unknown as SessionContext;
  const accepted = new Promise<{ session: WsSession; writes: () => number }>((resolve) => {
    server.once('connection', (ws, req) => {
      const socket = req.socket as Socket & {
        _write: (...a: unknown[]) => void;
        _writev: (...a: unknown[]) => void;
      };
      let writes = 0;
      for (const name of ['_write', '_writev'] as const) {
        const original = socket[name].bind(socket);
        socket[name] = (...args: unknown[]) => {
          writes++;
          original(...args);
        };
      }
      resolve({
        session: new WsSession(ws, socket, user, ctx, () => undefined),
        writes: () => writes,
      });
    });
  });
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const received: string[] = [];
  client.on('message', (data: Buffer) => received.push(data.toString()));
  await once(client, 'open');
  const side = await accepted;
  const close = async () => {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  };
  return { ...side, batch, client, received, errors, close };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WsSession sends', () => {
  it('writes the frame of a lone message at once', async () => {
    const t = await pair(4 * 1024 * 1024);
    try {
      const before = t.writes();
      t.batch.message();
      expect(t.session.send(message(0))).toBe(true);
      expect(t.writes() - before).toBe(1);
      await waitFor(() => t.received.length === 1);
    } finally {
      await t.close();
    }
  });

  it('writes the frames of several messages of one tick in one write, in order', async () => {
    const t = await pair(4 * 1024 * 1024);
    try {
      const before = t.writes();
      for (let i = 0; i < 50; i++) {
        t.batch.message();
        expect(t.session.send(message(i))).toBe(true);
      }
      // The first went out at once; the other 49 wait for the end of the tick.
      expect(t.writes() - before).toBe(1);
      await nextTurn();
      expect(t.writes() - before).toBe(2);
      await waitFor(() => t.received.length === 50);
      const order = t.received.map((f) => (JSON.parse(f) as { payload: { i: number } }).payload.i);
      expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      await t.close();
    }
  });

  it('writes a held burst as soon as it passes the bound, not at the end of the tick', async () => {
    const frame = message(0).wsFrame().length;
    const t = await pair(frame * 10);
    try {
      const before = t.writes();
      for (let i = 0; i < 25; i++) {
        t.batch.message();
        t.session.send(message(i));
      }
      // Written (and judged: the kernel took it, so no slow-consumer close) before the tick ended.
      expect(t.writes() - before).toBeGreaterThanOrEqual(3);
      expect(t.errors).toEqual([]);
      await waitFor(() => t.received.length === 25);
    } finally {
      await t.close();
    }
  });

  it('closes a consumer whose send buffer stays past the bound with 1013', async () => {
    const t = await pair(64 * 1024);
    try {
      t.client.pause();
      const big = (i: number) =>
        new OutboundMessage({ ...message(i).message, payload: { blob: 'x'.repeat(32 * 1024) } });
      let sent = 0;
      while (t.errors.length === 0 && sent < 2000) {
        t.batch.message();
        t.session.send(big(sent++));
        if (sent % 8 === 0) await nextTurn();
      }
      expect(t.errors).toEqual(['SLOW_CONSUMER']);
      expect(t.session.send(big(sent))).toBe(false);
      t.client.resume();
      const [code] = (await once(t.client, 'close')) as [number];
      expect(code).toBe(1013);
      // Everything sent before the close arrives; nothing after it.
      const ids = t.received.map((f) => (JSON.parse(f) as { message_id: string }).message_id);
      expect(ids.length).toBeLessThanOrEqual(sent);
      expect(ids).not.toContain(big(sent).id);
    } finally {
      await t.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
