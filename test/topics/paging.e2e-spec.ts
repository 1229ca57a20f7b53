import { http } from '../support/http';
import { BACKENDS, bootApp, createTopic, Harness, makeUser, TestUser } from './fixtures';

describe.each(BACKENDS)('paging stored messages (%s)', (backend) => {
  let h: Harness;
  let owner: TestUser;
  let topic: string;
  let ids: string[];

  const page = (query: string, token = owner.token): Promise<{ status: number; body: any }> =>
    http(h.baseUrl, 'GET', `/api/v1/topics/${topic}/messages${query}`, { token });

  beforeAll(async () => {
    h = await bootApp(backend);
    owner = await makeUser(h, ['read', 'write']);
    topic = await createTopic(h, owner);
    const res = await http(h.baseUrl, 'POST', '/api/v1/messages/bulk', {
      token: owner.token,
      body: {
        messages: Array.from({ length: 25 }, (_, i) =>
          i === 3
            ? { topic, payload: { i }, metadata: { source: 'test' } }
            : { topic, payload: { i } },
        ),
      },
    });
    expect(res.status).toBe(207);
    ids = res.body.results.map((r: any) => r.message_id);
  });
  afterAll(() => h?.close());

  it('pages newest first by default (limit 10), following next_cursor to the end', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    for (;;) {
      const res = await page(cursor ? `?cursor=${cursor}` : '');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ limit: 10, order: 'desc', cursor });
      expect(res.body.total).toBe(res.body.messages.length);
      sizes.push(res.body.messages.length);
      if (res.body.messages.length === 0) {
        expect(res.body.next_cursor).toBeNull();
        break;
      }
      seen.push(...res.body.messages.map((m: any) => m.message_id));
      expect(res.body.next_cursor).toBe(seen[seen.length - 1]);
      cursor = res.body.next_cursor;
    }
    expect(sizes).toEqual([10, 10, 5, 0]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('pages oldest first with order=asc and an exclusive cursor', async () => {
    const first = await page('?order=asc&limit=7');
    expect(first.body.messages.map((m: any) => m.message_id)).toEqual(ids.slice(0, 7));
    const second = await page(`?order=asc&limit=7&cursor=${first.body.next_cursor}`);
    expect(second.body.messages.map((m: any) => m.message_id)).toEqual(ids.slice(7, 14));
    expect(second.body.cursor).toBe(ids[6]);
    const desc = await page(`?order=desc&limit=3&cursor=${ids[10]}`);
    expect(desc.body.messages.map((m: any) => m.message_id)).toEqual([ids[9], ids[8], ids[7]]);
  });

  it('returns every message in one shape, metadata always an object, timestamps in Z', async () => {
    const res = await page('?order=asc&limit=5');
    expect(res.body.messages[0]).toEqual({
      message_id: ids[0],
      topic,
      payload: { i: 0 },
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      metadata: {},
    });
    expect(res.body.messages[3].metadata).toEqual({ source: 'test' });
  });

  it('caps the limit at 100', async () => {
    const res = await page('?limit=500');
    expect(res.status).toBe(200);
    expect(res.body.limit).toBe(100);
    expect(res.body.messages).toHaveLength(25);
  });

  it('answers 400 for an unknown order or a limit below 1, 422 for a non-integer limit', async () => {
    const order = await page('?order=sideways');
    expect(order.status).toBe(400);
    expect(order.body).toEqual({ detail: "Order must be 'asc' or 'desc'", code: 'INVALID_ORDER' });
    for (const limit of ['0', '-3']) {
      const res = await page(`?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ detail: 'Limit must be at least 1', code: 'INVALID_LIMIT' });
    }
    for (const limit of ['abc', '1.5']) {
      const res = await page(`?limit=${limit}`);
      expect(res.status).toBe(422);
      expect(res.body.detail[0].loc).toEqual(['query', 'limit']);
    }
  });

  it('answers 422 (never 500) for a cursor that is not a message id', async () => {
    for (const cursor of [
      'abc',
      '12',
      '1-2-3',
      '-1-0',
      '99999999999999999999999-0',
      'msg_0123456789ab',
    ]) {
      const res = await page(`?cursor=${encodeURIComponent(cursor)}`);
      expect({ cursor, status: res.status }).toEqual({ cursor, status: 422 });
      expect(res.body.detail[0].loc).toEqual(['query', 'cursor']);
    }
  });

  it('answers 404 before looking at the query for a topic the caller may not read', async () => {
    const stranger = await makeUser(h, ['read']);
    const res = await page('?order=sideways', stranger.token);
    expect(res.status).toBe(404);
  });

  it('never shows an expired message', async () => {
    const short = await createTopic(h, owner);
    await http(h.baseUrl, 'POST', '/api/v1/messages', {
      token: owner.token,
      body: { topic: short, payload: { gone: true }, ttl: 1 },
    });
    await http(h.baseUrl, 'POST', '/api/v1/messages', {
      token: owner.token,
      body: { topic: short, payload: { stays: true } },
    });
    await new Promise((r) => setTimeout(r, 1100));
    const res = await http(h.baseUrl, 'GET', `/api/v1/topics/${short}/messages`, {
      token: owner.token,
    });
    expect(res.body.messages.map((m: any) => m.payload)).toEqual([{ stays: true }]);
  });
});
