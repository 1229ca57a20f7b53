import { startApp, TestApp } from '../support/app';
import { http } from '../support/http';
import { startValkeyServer, ValkeyServer } from '../support/valkey-server';

describe('/ready follows storage reachability (valkey backend)', () => {
  let valkey: ValkeyServer;
  let sut: TestApp;

  beforeAll(async () => {
    valkey = await startValkeyServer();
    sut = await startApp({
      overrides: {
        'storage.backend': 'valkey',
        'valkey.host': '127.0.0.1',
        'valkey.port': valkey.port,
      },
    });
  });
  afterAll(async () => {
    await sut?.close();
    await valkey?.stop();
  });

  it('is 200 while Valkey answers, 503 quickly while it is down, and 200 again after it returns', async () => {
    expect((await http(sut.baseUrl, 'GET', '/ready')).body).toEqual({
      ready: true,
      checks: { storage: 'ok' },
    });

    await valkey.kill();
    const started = Date.now();
    const down = await http(sut.baseUrl, 'GET', '/ready');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ ready: false, checks: { storage: 'unavailable' } });
    expect(Date.now() - started).toBeLessThan(1500);
    expect((await http(sut.baseUrl, 'GET', '/health')).status).toBe(200);

    await valkey.restart();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await http(sut.baseUrl, 'GET', '/ready')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});
