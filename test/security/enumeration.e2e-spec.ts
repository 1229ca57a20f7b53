import { startApp, TestApp } from '../support/app';
import { createUser, http } from '../support/http';
import { median } from '../support/clients';

/**
 * User enumeration through login: an unknown user and a known user with a wrong password must get
 * the same answer and take about the same time. bcrypt cost 10 here, so that a login that skips
 * the hash for unknown users would stand out (a cost-10 hash takes tens of milliseconds).
 */
describe('login does not reveal which usernames exist', () => {
  let sut: TestApp;
  let user: Awaited<ReturnType<typeof createUser>>;

  beforeAll(async () => {
    sut = await startApp({
      overrides: {
        'auth.bcrypt_cost': 10,
        'limits.login_per_minute': 0,
        'limits.login_per_ip_per_minute': 0,
      },
    });
    user = await createUser(sut.baseUrl, ['read']);
  });
  afterAll(() => sut.close());

  const attempt = async (username: string, password: string) => {
    const t0 = process.hrtime.bigint();
    const res = await http(sut.baseUrl, 'POST', '/auth/login', { form: { username, password } });
    return { res, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  };

  it('answers unknown user and wrong password identically', async () => {
    const unknown = await attempt(`nobody-${Date.now()}`, 'wrong-password-1');
    const wrong = await attempt(user.username, 'wrong-password-1');
    expect(unknown.res.status).toBe(401);
    expect(wrong.res.status).toBe(401);
    expect(unknown.res.body).toEqual(wrong.res.body);
    expect(unknown.res.headers.get('www-authenticate')).toBe(
      wrong.res.headers.get('www-authenticate'),
    );
    // Same with the JSON form of the login.
    const a = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: { username: `nobody-${Date.now()}`, password: 'wrong-password-1' },
    });
    const b = await http(sut.baseUrl, 'POST', '/auth/login', {
      body: { username: user.username, password: 'wrong-password-1' },
    });
    expect(a.status).toBe(401);
    expect(a.body).toEqual(b.body);
  });

  it('takes a similar time for unknown user and wrong password (medians within 2×)', async () => {
    const unknownMs: number[] = [];
    const wrongMs: number[] = [];
    await attempt(user.username, 'warm-up-password');
    for (let i = 0; i < 15; i++) {
      unknownMs.push((await attempt(`ghost-${i}-${Date.now()}`, 'wrong-password-1')).ms);
      wrongMs.push((await attempt(user.username, `wrong-password-${i}`)).ms);
    }
    const mu = median(unknownMs);
    const mw = median(wrongMs);
    console.log(
      `login timing (bcrypt cost 10): unknown user median ${mu.toFixed(1)} ms, wrong password median ${mw.toFixed(1)} ms\n`,
    );
    expect(mu).toBeGreaterThan(mw / 2);
    expect(mu).toBeLessThan(mw * 2);
  });
});
