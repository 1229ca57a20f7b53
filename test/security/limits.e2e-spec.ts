import { startApp, TestApp } from '../support/app';
import { createUser, http } from '../support/http';
import {
  connectWs,
  isContractError,
  isRefusal,
  rawRequest,
  sleep,
  tryConnectWs,
  uniqueTopic,
  waitFor,
  WsClient,
} from '../support/clients';

function expectRetryAfter(res: { status: number; headers: Headers; body: unknown }): void {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(isContractError(429, res.body)).toBe(true);
}

describe('login brute force', () => {
  let sut: TestApp;

  beforeAll(async () => {
    sut = await startApp({
      overrides: { 'limits.login_per_minute': 10, 'limits.login_per_ip_per_minute': 300 },
    });
  });
  afterAll(() => sut.close());

  it('answers 429 with Retry-After after 10 attempts per (IP, username), even to the right password', async () => {
    // createUser logs the admin in once and the new user once.
    const victim = await createUser(sut.baseUrl, ['read']);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: victim.username, password: `guess-${i}-xxxx` },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(9).fill(401));
    const limited = await http(sut.baseUrl, 'POST', '/auth/login', {
      form: { username: victim.username, password: `guess-10-xxxx` },
    });
    expectRetryAfter(limited);
    const right = await http(sut.baseUrl, 'POST', '/auth/login', {
      form: { username: victim.username, password: victim.password },
    });
    expect(right.status).toBe(429);
    // The JSON form of the login shares the bucket.
    const json = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: { username: victim.username, password: victim.password },
    });
    expect(json.status).toBe(429);
    // Another username from the same IP is not locked out by this one.
    const other = await createUser(sut.baseUrl, ['read']);
    expect(other.token).toEqual(expect.any(String));
  });

  it('limits token refreshes per IP (30/min) with 429 + Retry-After', async () => {
    let limited: Awaited<ReturnType<typeof http>> | null = null;
    for (let i = 0; i < 35 && !limited; i++) {
      const res = await http(sut.baseUrl, 'POST', '/auth/token/refresh', {
        body: { refresh_token: `00000000-0000-4000-8000-000000000000.guess${i}` },
      });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(401);
    }
    expect(limited).not.toBeNull();
    expectRetryAfter(limited!);
  });

  it('does not let X-Forwarded-For pick a fresh bucket when the proxy is not trusted', async () => {
    const victim = await createUser(sut.baseUrl, ['read']);
    let last = 0;
    for (let i = 0; i < 12; i++) {
      const res = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: victim.username, password: `guess-${i}-xxxx` },
        headers: { 'x-forwarded-for': `10.0.${i}.1` },
      });
      last = res.status;
    }
    expect(last).toBe(429);
  });
});

describe('per-user and per-instance resource limits', () => {
  let sut: TestApp;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    sut = await startApp({
      overrides: {
        'limits.login_per_minute': 0,
        'limits.login_per_ip_per_minute': 0,
        'limits.ws_max_per_user': 3,
        'limits.ws_max_topics_per_socket': 3,
        'limits.poll_max_waiters_per_user': 3,
        'limits.poll_max_topics': 4,
        'limits.max_message_size': 1024,
        'limits.max_bulk_messages': 5,
        'limits.rate_limit_per_client': 20,
        'server.max_body_bytes': 16 * 1024,
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await sut.close();
  });

  it('refuses a user’s WebSocket beyond ws_max_per_user before the upgrade, and frees the slot on close', async () => {
    const user = await createUser(sut.baseUrl, ['read', 'write']);
    const other = await createUser(sut.baseUrl, ['read', 'write']);
    const open = await Promise.all(
      [0, 1, 2].map(() => connectWs(sut.wsUrl, { token: user.token })),
    );
    sockets.push(...open);
    const extra = await tryConnectWs(sut.wsUrl, { token: user.token });
    if (!isRefusal(extra)) {
      extra.terminate();
      throw new Error('a fourth socket was accepted with ws_max_per_user=3');
    }
    expect([403, 429]).toContain(extra.status);
    // Another user is not affected.
    const theirs = await connectWs(sut.wsUrl, { token: other.token });
    sockets.push(theirs);
    await open[0].close();
    const again = await waitFor(async () => {
      const s = await tryConnectWs(sut.wsUrl, { token: user.token });
      return isRefusal(s) ? null : s;
    }, 3000);
    sockets.push(again);
  });

  it('limits topics per socket with an error frame, keeping the socket usable', async () => {
    const user = await createUser(sut.baseUrl, ['read', 'write']);
    const topics = Array.from({ length: 4 }, (_, i) => uniqueTopic(`lim${i}`));
    for (const t of topics)
      await http(sut.baseUrl, 'POST', '/api/v1/topics', {
        token: user.token,
        body: { topic_name: t },
      });
    const ws = await connectWs(sut.wsUrl, { token: user.token });
    sockets.push(ws);
    const reply = await ws.subscribe(topics);
    expect(reply.type).toBe('error');
    expect(reply.code).toEqual(expect.any(String));
    await ws.ping();
    expect((await ws.subscribe(topics.slice(0, 3))).type).toBe('subscribed');
    // Adding a fourth topic later is refused too.
    expect((await ws.subscribe([topics[3]])).type).toBe('error');
    await ws.ping();
  });

  it('refuses a fourth concurrent long-poll of one user with 429 + Retry-After', async () => {
    const user = await createUser(sut.baseUrl, ['read', 'write']);
    const other = await createUser(sut.baseUrl, ['read', 'write']);
    const topic = uniqueTopic('waiters');
    await http(sut.baseUrl, 'POST', '/api/v1/topics', {
      token: user.token,
      body: { topic_name: topic, is_public: true },
    });
    const waiting = [0, 1, 2].map(() =>
      http(sut.baseUrl, 'POST', '/messages/poll', {
        token: user.token,
        body: { topics: [topic], timeout: 5 },
      }),
    );
    await sleep(500);
    const fourth = await http(sut.baseUrl, 'POST', '/messages/poll', {
      token: user.token,
      body: { topics: [topic], timeout: 5 },
    });
    expectRetryAfter(fourth);
    const theirs = http(sut.baseUrl, 'POST', '/messages/poll', {
      token: other.token,
      body: { topics: [topic], timeout: 1 },
    });
    await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token: user.token,
      body: { topic, payload: { n: 1 } },
    });
    for (const res of await Promise.all(waiting)) expect(res.status).toBe(200);
    expect((await theirs).status).toBe(200);
    // Slots are released once answered.
    const after = await http(sut.baseUrl, 'POST', '/messages/poll', {
      token: user.token,
      body: { topics: [topic], timeout: 1 },
    });
    expect(after.status).toBe(200);
  });

  it('limits topics per poll (422), message size (413), bulk size (422) and body size (413, chunked too)', async () => {
    const user = await createUser(sut.baseUrl, ['read', 'write']);
    const poll = await http(sut.baseUrl, 'POST', '/messages/poll', {
      token: user.token,
      body: { topics: Array.from({ length: 5 }, (_, i) => `t${i}`), timeout: 1 },
    });
    expect(poll.status).toBe(422);
    expect(isContractError(422, poll.body)).toBe(true);

    const topic = uniqueTopic('size');
    const big = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token: user.token,
      body: { topic, payload: { blob: 'x'.repeat(2048) } },
    });
    expect(big.status).toBe(413);
    expect(isContractError(413, big.body)).toBe(true);
    const fits = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token: user.token,
      body: { topic, payload: { blob: 'x'.repeat(900) } },
    });
    expect(fits.status).toBe(201);

    const bulk = await http(sut.baseUrl, 'POST', '/api/v1/messages/bulk', {
      token: user.token,
      body: { messages: Array.from({ length: 6 }, (_, i) => ({ topic, payload: { i } })) },
    });
    expect(bulk.status).toBe(422);

    const body = Buffer.from(JSON.stringify({ topic, payload: { blob: 'y'.repeat(40 * 1024) } }));
    const plain = await rawRequest(sut.baseUrl, {
      method: 'POST',
      path: '/api/v1/messages',
      headers: {
        authorization: `Bearer ${user.token}`,
        'content-type': 'application/json',
        'content-length': body.length,
      },
      body,
    });
    expect(plain.status).toBe(413);
    expect(isContractError(413, plain.body)).toBe(true);
    const chunked = await rawRequest(sut.baseUrl, {
      method: 'POST',
      path: '/api/v1/messages',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      chunks: Array.from({ length: 10 }, (_, i) => body.subarray(i * 4096, (i + 1) * 4096)),
    });
    expect(chunked.status).toBe(413);
    expect(isContractError(413, chunked.body)).toBe(true);
  });

  it('rate-limits publishes per user with 429 + Retry-After when configured', async () => {
    const user = await createUser(sut.baseUrl, ['read', 'write']);
    const other = await createUser(sut.baseUrl, ['read', 'write']);
    const topic = uniqueTopic('rate');
    let limited: Awaited<ReturnType<typeof http>> | null = null;
    for (let i = 0; i < 25 && !limited; i++) {
      const res = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
        token: user.token,
        body: { topic, payload: { i } },
      });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(201);
    }
    expect(limited).not.toBeNull();
    expectRetryAfter(limited!);
    const theirs = await http(sut.baseUrl, 'POST', '/api/v1/messages', {
      token: other.token,
      body: { topic: uniqueTopic('rate-other'), payload: { i: 0 } },
    });
    expect(theirs.status).toBe(201);
  });
});

describe('per-instance connection limit', () => {
  let sut: TestApp;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    sut = await startApp({
      overrides: {
        'limits.login_per_minute': 0,
        'limits.login_per_ip_per_minute': 0,
        'limits.max_connections_per_instance': 4,
      },
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await sut.close();
  });

  it('refuses WebSockets beyond max_connections_per_instance before the upgrade', async () => {
    const users = await Promise.all([0, 1].map(() => createUser(sut.baseUrl, ['read'])));
    for (let i = 0; i < 4; i++)
      sockets.push(await connectWs(sut.wsUrl, { token: users[i % 2].token }));
    const extra = await tryConnectWs(sut.wsUrl, { token: users[0].token });
    if (!isRefusal(extra)) {
      extra.terminate();
      throw new Error('a fifth socket was accepted with max_connections_per_instance=4');
    }
    expect([429, 503]).toContain(extra.status);
    // HTTP keeps working.
    expect((await http(sut.baseUrl, 'GET', '/health')).status).toBe(200);
  });
});
