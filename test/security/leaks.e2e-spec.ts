import { TEST_ADMIN, TEST_JWT_SECRET } from '../support/app';
import { adminToken, createUser, http } from '../support/http';
import { RelayProcess, startRelayProcess } from '../support/relay-process';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';
import {
  connectWs,
  rawRequest,
  sleep,
  tryConnectWs,
  uniqueTopic,
  waitFor,
  isRefusal,
} from '../support/clients';

/**
 * No secrets or other users' data in logs (the relay process's stdout/stderr, at debug level),
 * in `/metrics`, in error bodies, or in `/messages/poll/stats` for non-admins.
 */
describe('no secrets or other users’ data in logs, metrics, stats and errors', () => {
  jest.setTimeout(60_000);
  let valkey: ValkeyServer;
  let relay: RelayProcess;
  const secrets: Array<[string, string]> = [];
  let alice: Awaited<ReturnType<typeof createUser>>;
  let bob: Awaited<ReturnType<typeof createUser>>;
  let aliceTopic: string;

  beforeAll(async () => {
    valkey = await startValkeyServer({ appendfsync: 'everysec' });
    relay = await startRelayProcess({ valkey, env: { PULSAR_LOG_LEVEL: 'debug' } });
    alice = await createUser(relay.baseUrl, ['read', 'write']);
    bob = await createUser(relay.baseUrl, ['read', 'write']);
    aliceTopic = uniqueTopic('alicesecret');
    await http(relay.baseUrl, 'POST', '/api/v1/topics', {
      token: alice.token,
      body: { topic_name: aliceTopic },
    });
  });
  afterAll(async () => {
    relay?.kill('SIGKILL');
    await relay?.exited;
    await valkey?.stop();
  });

  it('keeps passwords, tokens and refresh secrets out of the logs', async () => {
    const admin = await adminToken(relay.baseUrl);
    secrets.push(['admin password', TEST_ADMIN.password], ['JWT secret', TEST_JWT_SECRET]);
    secrets.push(['alice password', alice.password], ['alice token', alice.token]);
    secrets.push(['admin token', admin]);

    const carol = `carol-${Date.now()}`;
    const carolPassword = `carol-Pa55-${Date.now()}`;
    secrets.push(['registered password', carolPassword]);
    await http(relay.baseUrl, 'POST', '/auth/register', {
      token: admin,
      body: { username: carol, password: carolPassword, permissions: ['read'] },
    });
    const wrongPassword = `wrong-Pa55-${Date.now()}`;
    secrets.push(['wrong password', wrongPassword]);
    await http(relay.baseUrl, 'POST', '/auth/login', {
      form: { username: carol, password: wrongPassword },
    });
    await http(relay.baseUrl, 'POST', '/auth/login', {
      body: { username: `ghost-${Date.now()}`, password: wrongPassword },
    });
    const patchedPassword = `patched-Pa55-${Date.now()}`;
    secrets.push(['patched password', patchedPassword]);
    const users = await http(relay.baseUrl, 'GET', '/auth/users', { token: admin });
    const carolId = users.body.find((u: { username: string }) => u.username === carol)?.user_id;
    await http(relay.baseUrl, 'PATCH', `/auth/users/${carolId}`, {
      token: admin,
      body: { password: patchedPassword },
    });

    const session = await http(relay.baseUrl, 'POST', '/auth/login', {
      form: { username: alice.username, password: alice.password },
    });
    expect(session.status).toBe(200);
    const refresh = session.body.refresh_token as string;
    secrets.push(['access token', session.body.access_token], ['refresh token', refresh]);
    if (refresh?.includes('.'))
      secrets.push(['refresh secret', refresh.split('.').slice(1).join('.')]);
    // Tokens in every place a client may put them, valid and invalid.
    const ws1 = await connectWs(relay.wsUrl, { token: session.body.access_token, via: 'query' });
    const ws2 = await connectWs(relay.wsUrl, {
      token: session.body.access_token,
      via: 'subprotocol',
    });
    await ws1.subscribe([aliceTopic]);
    await ws2.subscribe(['no-such-topic-here']);
    ws2.send('{not json');
    await ws1.close();
    await ws2.close();
    const forged = `${session.body.access_token}tampered`;
    secrets.push(['tampered token', forged]);
    const refused = await tryConnectWs(relay.wsUrl, { token: forged, via: 'query' });
    if (!isRefusal(refused)) refused.terminate();
    await http(relay.baseUrl, 'GET', '/auth/me', { token: forged });
    await rawRequest(relay.baseUrl, {
      method: 'GET',
      path: `/api/v1/topics?token=${encodeURIComponent(session.body.access_token)}`,
      headers: {
        authorization: `Bearer ${session.body.access_token}`,
        cookie: `session=${refresh}`,
      },
    });
    await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token: session.body.access_token,
      body: { topic: aliceTopic, payload: { x: 1 } },
    });
    // Rotation, then a replay of the old refresh token (revokes the chain).
    const rotated = await http(relay.baseUrl, 'POST', '/auth/token/refresh', {
      body: { refresh_token: refresh },
    });
    if (rotated.status === 200) {
      secrets.push(
        ['rotated access', rotated.body.access_token],
        ['rotated refresh', rotated.body.refresh_token],
      );
    }
    await http(relay.baseUrl, 'POST', '/auth/token/refresh', { body: { refresh_token: refresh } });
    await http(relay.baseUrl, 'POST', '/auth/token/revoke', {
      body: { refresh_token: `${refresh}x` },
    });

    await http(relay.baseUrl, 'POST', '/auth/logout', { token: session.body.access_token });
    await http(relay.baseUrl, 'GET', '/auth/me', { token: session.body.access_token });
    await sleep(500);

    const logs = relay.stdout() + relay.stderr();
    expect(logs.length).toBeGreaterThan(0);
    const found = secrets
      .filter(([, value]) => value && value.length >= 8)
      .flatMap(([name, value]) => {
        // For a JWT, its payload or signature alone is a leak too (the header is not secret).
        const parts = value.split('.');
        const jwtParts = parts.length === 3 ? parts.slice(1).filter((p) => p.length >= 16) : [];
        const leaked = logs.includes(value) || jwtParts.some((p) => logs.includes(p));
        return leaked ? [name] : [];
      });
    expect(found).toEqual([]);
    expect(logs).not.toMatch(/\$2[aby]\$\d\d\$/); // bcrypt hashes
  });

  it('exposes no user ids, usernames or topic names in /metrics (per-topic labels off)', async () => {
    const poll = http(relay.baseUrl, 'POST', '/messages/poll', {
      token: alice.token,
      body: { topics: [aliceTopic], timeout: 2 },
    });
    await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token: alice.token,
      body: { topic: aliceTopic, payload: { y: 1 } },
    });
    await poll;
    const metrics = await http(relay.baseUrl, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    for (const needle of [
      alice.userId,
      bob.userId,
      alice.username,
      bob.username,
      aliceTopic,
      TEST_ADMIN.username,
    ]) {
      expect(metrics.text).not.toContain(needle);
    }
    expect(metrics.text).not.toContain(alice.token);
    expect(metrics.text).toMatch(/relay_messages_received_total/);
  });

  it('shows a non-admin only their own waiters in /messages/poll/stats', async () => {
    const waiting = http(relay.baseUrl, 'POST', '/messages/poll', {
      token: alice.token,
      body: { topics: [aliceTopic], timeout: 5 },
    });
    const admin = await adminToken(relay.baseUrl);
    await waitFor(async () => {
      const s = await http(relay.baseUrl, 'GET', '/messages/poll/stats', { token: admin });
      return s.status === 200 && JSON.stringify(s.body).includes(aliceTopic);
    }, 3000).catch(() => null);
    const bobView = await http(relay.baseUrl, 'GET', '/messages/poll/stats', { token: bob.token });
    expect(bobView.status).toBe(200);
    expect(bobView.text).not.toContain(aliceTopic);
    expect(bobView.text).not.toContain(alice.userId);
    expect(bobView.body.active_waiters ?? 0).toBe(0);
    const aliceView = await http(relay.baseUrl, 'GET', '/messages/poll/stats', {
      token: alice.token,
    });
    expect(aliceView.text).toContain(aliceTopic);
    await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token: alice.token,
      body: { topic: aliceTopic, payload: { release: true } },
    });
    await waiting;
  });

  it('puts no internals in error bodies, storage outages included', async () => {
    const bad = await rawRequest(relay.baseUrl, {
      method: 'POST',
      path: '/api/v1/messages',
      headers: { authorization: `Bearer ${bob.token}`, 'content-type': 'application/json' },
      body: '{"topic": "x", "payload": {"a": [1, 2, }',
    });
    const denied = await http(relay.baseUrl, 'POST', '/api/v1/messages', {
      token: bob.token,
      body: { topic: aliceTopic, payload: { x: 1 } },
    });
    expect(denied.status).toBe(403);
    expect(denied.text).not.toContain(alice.userId);
    expect(denied.text).not.toContain(alice.username);

    await valkey.kill('SIGKILL');
    try {
      const down = await http(relay.baseUrl, 'POST', '/api/v1/messages', {
        token: bob.token,
        body: { topic: uniqueTopic('down'), payload: { x: 1 } },
      });
      expect(down.status).toBe(503);
      for (const res of [bad, down]) {
        expect(res.text).not.toMatch(
          /ECONNREFUSED|ioredis|Redis|\bat \w+ \(|\/src\/|\.ts:\d+|stack/i,
        );
        expect(res.text).not.toContain(String(valkey.port));
      }
    } finally {
      await valkey.restart();
    }
    const logs = relay.stdout() + relay.stderr();
    expect(logs).not.toContain(TEST_JWT_SECRET);
  });
});
