import fc from 'fast-check';
import { createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import {
  connectWs,
  Frame,
  isRefusal,
  rawRequest,
  SOAK,
  tryConnectWs,
  uniqueTopic,
  WsClient,
} from '../support/clients';

/**
 * Malformed, binary, oversized and out-of-order WebSocket frames: an `error` frame (or a clean
 * close for an oversized frame), never a crash, and the connection stays usable (a ping is
 * answered and subscribed messages still arrive).
 */

const SEED = Number(process.env.PULSAR_FUZZ_SEED ?? 20240611);
const FRAMES = Number(process.env.PULSAR_FUZZ_RUNS ?? (SOAK ? 2000 : 400));
const MAX_FRAME = 4096;
const KNOWN_TYPES = new Set(['error', 'subscribed', 'unsubscribed', 'pong', 'message']);

interface Sent {
  data: string | Buffer;
  binary: boolean;
  /** Certainly invalid: must produce an `error` frame. */
  mustError: boolean;
}

const hostile = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    '',
    0,
    -1,
    1.5,
    [],
    {},
    'a'.repeat(300),
    ['a'.repeat(256)],
    ['bad topic'],
    Array(60).fill('t'),
    '\ud800',
  ),
);

function frameArb(topic: string): fc.Arbitrary<Sent> {
  const json = (o: unknown, mustError: boolean): Sent => ({
    data: JSON.stringify(o) ?? 'null',
    binary: false,
    mustError,
  });
  return fc.oneof(
    fc
      .string({ maxLength: 200 })
      .filter((s) => {
        try {
          const v: unknown = JSON.parse(s);
          return typeof v !== 'object' || v === null || Array.isArray(v);
        } catch {
          return true;
        }
      })
      .map((s) => ({ data: s, binary: false, mustError: true })),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map((v) => json(v, true)),
    fc
      .string({ maxLength: 20 })
      .filter((t) => !['subscribe', 'unsubscribe', 'ack', 'ping'].includes(t))
      .map((t) => json({ type: t }, true)),
    fc
      .record({
        type: fc.constant('subscribe'),
        topics: hostile,
        offset: fc.option(hostile),
        client_id: fc.option(hostile),
      })
      .map((o) => json(o, true)),
    fc
      .record({
        type: fc.constant('subscribe'),
        topics: fc.constant([topic]),
        offset: hostile.filter(
          (x) =>
            x !== null &&
            x !== undefined &&
            (typeof x !== 'string' || !/^(\d+-\d+|last|earliest|acked)$/.test(x)),
        ),
      })
      .map((o) => json(o, true)),
    fc.record({ type: fc.constant('unsubscribe'), topics: hostile }).map((o) => json(o, false)),
    fc
      .record({ type: fc.constant('ack'), message_id: hostile, topic: fc.option(hostile) })
      .map((o) => json(o, false)),
    fc.record({ type: fc.constant('ping'), extra: hostile }).map((o) => json(o, false)),
    fc
      .uint8Array({ minLength: 0, maxLength: 512 })
      .map((b) => ({ data: Buffer.from(b), binary: true, mustError: true })),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({
      // Invalid UTF-8 in a text frame is a protocol error (close 1007) in RFC 6455.
      data: Buffer.concat([
        Buffer.from('{"type":"unsubscribe","topics":["'),
        Buffer.from(b),
        Buffer.from([0xff]),
        Buffer.from('"}'),
      ]),
      binary: false,
      mustError: true,
    })),
    fc
      .constantFrom(10, 1000, 1500)
      .map((d) => ({ data: `${'['.repeat(d)}${']'.repeat(d)}`, binary: false, mustError: true })),
  );
}

function isPing(sent: Sent): boolean {
  if (sent.binary) return false;
  try {
    const v = JSON.parse(sent.data.toString()) as { type?: unknown } | null;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && v.type === 'ping';
  } catch {
    return false;
  }
}

function badErrorFrame(f: Frame): boolean {
  return !(
    f.type === 'error' &&
    typeof f.code === 'string' &&
    /^[A-Z][A-Z0-9_]*$/.test(f.code) &&
    typeof f.message === 'string'
  );
}

describe('hostile WebSocket frames (generated with fast-check)', () => {
  jest.setTimeout(SOAK ? 600_000 : 55_000);
  let relay: RelayProcess;
  let token: string;
  let topic: string;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    relay = await startRelayProcess({
      backend: 'memory',
      env: { PULSAR_WS_MAX_FRAME_BYTES: String(MAX_FRAME) },
    });
    token = (await createUser(relay.baseUrl, ['read', 'write'])).token;
    topic = uniqueTopic('wsfuzz');
    await http(relay.baseUrl, 'POST', '/api/v1/topics', { token, body: { topic_name: topic } });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    relay?.kill('SIGKILL');
    await relay?.exited;
  });

  async function open(): Promise<WsClient> {
    const ws = await connectWs(relay.wsUrl, { token });
    sockets.push(ws);
    return ws;
  }

  /** Sends one frame, then a ping; returns the frames that arrived before the pong. */
  async function exchange(ws: WsClient, sent: Sent): Promise<Frame[]> {
    ws.sendRaw(sent.data, sent.binary);
    ws.send({ type: 'ping' });
    // A fuzzed frame that is itself a ping earns its own pong (or an error frame).
    let pongs = isPing(sent) ? 2 : 1;
    const before: Frame[] = [];
    while (pongs > 0) {
      const f = await ws.next(() => true, 5000);
      if (f.type === 'pong') pongs--;
      else {
        before.push(f);
        if (f.type === 'error' && pongs === 2) pongs--;
      }
    }
    // Replies of asynchronous handlers (subscribe) may trail the pong by a moment.
    await new Promise((r) => setTimeout(r, 15));
    before.push(...ws.frames.splice(0));
    return before;
  }

  it('answers malformed, binary and wrongly typed frames with error frames and stays usable', async () => {
    const frames = fc.sample(frameArb(topic), { numRuns: FRAMES, seed: SEED });
    const failures: string[] = [];
    const closes: string[] = [];
    const lanes = 4;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        let ws = await open();
        expect((await ws.subscribe([topic])).type).toBe('subscribed');
        for (let i = lane; i < frames.length; i += lanes) {
          const sent = frames[i];
          const shown = (
            typeof sent.data === 'string' ? sent.data : sent.data.toString('latin1')
          ).slice(0, 100);
          try {
            const replies = await exchange(ws, sent);
            const unknown = replies.filter((f) => !KNOWN_TYPES.has(f.type ?? ''));
            const badErrors = replies.filter((f) => f.type === 'error' && badErrorFrame(f));
            if (unknown.length || badErrors.length)
              failures.push(`${JSON.stringify(shown)} → ${JSON.stringify(replies).slice(0, 200)}`);
            if (sent.mustError && !replies.some((f) => f.type === 'error')) {
              failures.push(
                `${JSON.stringify(shown)} → no error frame (${JSON.stringify(replies).slice(0, 200)})`,
              );
            }
          } catch (error) {
            // Only a text frame with invalid UTF-8 may close the connection (1007, RFC 6455).
            const code = ws.closeCode;
            if (!(code === 1007 && !sent.binary && Buffer.isBuffer(sent.data))) {
              failures.push(`${JSON.stringify(shown)} → ${String(error).slice(0, 200)}`);
            }
            closes.push(String(code));
            ws = await open();
            await ws.subscribe([topic]);
          }
        }
        // Still subscribed and delivering after all that.
        const drained = ws.frames.splice(0);
        void drained;
        await http(relay.baseUrl, 'POST', '/api/v1/messages', {
          token,
          body: { topic, payload: { lane } },
        });
        const m = await ws.next((f) => f.type === 'message' && f.payload?.lane === lane, 5000);
        expect(m.topic).toBe(topic);
      }),
    );
    console.log(
      `WS fuzz: ${frames.length} frames, ${failures.length} bad answers, closes ${closes.length} (all 1007: ${closes.every((c) => c === '1007')}) (seed ${SEED})\n`,
    );
    expect(failures.slice(0, 25)).toEqual([]);
    expect(relay.isRunning).toBe(true);
  });

  it('handles out-of-order frames: ack/unsubscribe before subscribe, double subscribe, unknown topics', async () => {
    const ws = await open();
    for (const frame of [
      { type: 'ack', message_id: '1-0', topic },
      { type: 'unsubscribe', topics: [topic] },
      { type: 'ack', message_id: '1-0' },
    ]) {
      const replies = await exchange(ws, {
        data: JSON.stringify(frame),
        binary: false,
        mustError: false,
      });
      expect(replies.filter((f) => f.type === 'error').every((f) => !badErrorFrame(f))).toBe(true);
      expect(replies.every((f) => KNOWN_TYPES.has(f.type ?? ''))).toBe(true);
    }
    expect((await ws.subscribe([topic])).type).toBe('subscribed');
    expect((await ws.subscribe([topic])).type).toBe('subscribed');
    // Subscribing twice must not double deliveries.
    await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token,
      body: { topic, payload: { once: true } },
    });
    await ws.next((f) => f.type === 'message' && f.payload?.once === true);
    await ws.ping();
    expect(ws.peek('message').filter((f) => f.payload?.once === true)).toEqual([]);
    const ackUnknown = await exchange(ws, {
      data: JSON.stringify({ type: 'ack', message_id: '1-0', topic: 'not-subscribed-topic' }),
      binary: false,
      mustError: false,
    });
    expect(ackUnknown.every((f) => f.type === 'error' || f.type === 'message')).toBe(true);
    const unsub = await exchange(ws, {
      data: JSON.stringify({ type: 'unsubscribe', topics: [topic, 'never-subscribed'] }),
      binary: false,
      mustError: false,
    });
    expect(unsub.some((f) => f.type === 'unsubscribed' || f.type === 'error')).toBe(true);
    await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token,
      body: { topic, payload: { after: 'unsubscribe' } },
    });
    await ws.ping();
    await new Promise((r) => setTimeout(r, 300));
    expect(ws.peek('message').filter((f) => f.payload?.after === 'unsubscribe')).toEqual([]);
  });

  it('closes cleanly on an oversized frame and keeps serving other connections', async () => {
    const ws = await open();
    const bystander = await open();
    await bystander.subscribe([topic]);
    ws.send({ type: 'subscribe', topics: [topic], client_id: 'x'.repeat(MAX_FRAME * 2) });
    const result = await Promise.race([
      ws.closed,
      ws.next((f) => f.type === 'error', 5000).then((f) => ({ code: -1, reason: String(f.code) })),
    ]);
    // A clean close (1009 Message Too Big) or an error frame; never a dropped TCP connection.
    if (result.code !== -1) expect(result.code).toBe(1009);
    await bystander.ping();
    const fresh = await open();
    await fresh.ping();
  });

  it('refuses malformed upgrade requests without a 5xx', async () => {
    const attempts = await Promise.all([
      rawRequest(relay.baseUrl, {
        method: 'GET',
        path: `/ws?token=${token}`,
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      }),
      rawRequest(relay.baseUrl, {
        method: 'GET',
        path: `/ws?token=${token}`,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '99',
          'sec-websocket-key': 'bad',
        },
      }),
      rawRequest(relay.baseUrl, { method: 'GET', path: '/ws', headers: {} }),
      rawRequest(relay.baseUrl, {
        method: 'POST',
        path: '/ws',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    ]);
    for (const res of attempts) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    for (const protocols of [
      ['bearer'],
      ['bearer', 'bearer.'],
      ['bearer', 'bearer.x.y.z'],
      ['other'],
    ]) {
      const result = await tryConnectWs(relay.wsUrl, { protocols });
      if (!isRefusal(result)) {
        result.terminate();
        throw new Error(`accepted subprotocols ${protocols.join(',')}`);
      }
      expect(result.status).toBe(401);
    }
    expect(relay.isRunning).toBe(true);
  });
});
