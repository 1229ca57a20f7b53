import { TestApp, TEST_ADMIN } from '../support/app';
import { http } from '../support/http';
import { UsersService } from '../../src/users/users.service';
import {
  adminLogin,
  BACKENDS,
  Cluster,
  expect401,
  loginFull,
  me,
  registerUser,
  TestUser,
  unique,
} from './auth-fixtures';

// Every row has three cells: jest passes a `done` callback to a test taking more arguments.
const ADMIN_ROUTES: Array<[string, string, unknown]> = [
  ['POST', '/auth/register', { username: 'someone', password: 'password-123456' }],
  ['GET', '/auth/users', undefined],
  ['GET', '/auth/users/stats', undefined],
  ['PATCH', '/auth/users/00000000-0000-4000-8000-000000000000', { is_active: true }],
  ['DELETE', '/auth/users/00000000-0000-4000-8000-000000000000', undefined],
];

describe.each(BACKENDS)('user administration (%s)', (backend) => {
  const cluster = new Cluster(backend);
  let sut: TestApp;
  let admin: string;
  let adminId: string;
  let alice: TestUser;

  beforeAll(async () => {
    sut = await cluster.start();
    admin = await adminLogin(sut.baseUrl);
    adminId = (await me(sut.baseUrl, admin)).body.user_id;
    alice = await registerUser(sut.baseUrl, admin, ['read', 'write']);
  });
  afterAll(() => cluster.stop());

  describe('access', () => {
    it.each(ADMIN_ROUTES)('%s %s: 403 for a non-admin', async (method, path, body) => {
      const res = await http(sut.baseUrl, method, path, { token: alice.token, body });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: "Permission 'admin' required",
        code: 'PERMISSION_DENIED',
      });
      expect(res.headers.get('www-authenticate')).toBeNull();
    });

    it.each(ADMIN_ROUTES)('%s %s: 401 without a token', async (method, path, body) => {
      expect401(await http(sut.baseUrl, method, path, { body }), 'Not authenticated');
    });
  });

  describe('POST /auth/register', () => {
    it('creates a user: 201 UserPublic, and the user can log in', async () => {
      const username = unique('new');
      const res = await http(sut.baseUrl, 'POST', '/auth/register', {
        token: admin,
        body: {
          username,
          email: 'new@example.com',
          password: 'password-123456',
          permissions: ['read', 'read'],
          is_admin: true,
        },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        user_id: expect.stringMatching(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        ),
        username,
        email: 'new@example.com',
        is_active: true,
        created_at: expect.stringMatching(/Z$/),
        permissions: ['read'],
        owned_topics: [],
      });
      expect(res.body).not.toHaveProperty('hashed_password');
      await expect(loginFull(sut.baseUrl, username, 'password-123456')).resolves.toBeDefined();
    });

    it('defaults to no permissions and no e-mail', async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/register', {
        token: admin,
        body: { username: unique('bare'), password: 'password-123456' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ email: null, permissions: [] });
    });

    it("refuses a duplicate username with 400 Username '<name>' already exists", async () => {
      const res = await http(sut.baseUrl, 'POST', '/auth/register', {
        token: admin,
        body: { username: alice.username, password: 'another-password' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        detail: `Username '${alice.username}' already exists`,
        code: 'USERNAME_TAKEN',
      });
    });

    it('accepts passwords longer than bcrypt reads, and tells them apart', async () => {
      const username = unique('long');
      const password = 'p'.repeat(100);
      await http(sut.baseUrl, 'POST', '/auth/register', {
        token: admin,
        body: { username, password },
      });
      const wrong = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username, password: `${'p'.repeat(72)}different-tail` },
      });
      expect(wrong.status).toBe(401);
      await expect(loginFull(sut.baseUrl, username, password)).resolves.toBeDefined();
    });

    it.each([
      [
        'a short username',
        { username: 'ab', password: 'password-123456' },
        'username',
        'string_too_short',
      ],
      [
        'a long username',
        { username: 'x'.repeat(51), password: 'password-123456' },
        'username',
        'string_too_long',
      ],
      [
        'a short password',
        { username: 'valid-name', password: 'short' },
        'password',
        'string_too_short',
      ],
      ['no password', { username: 'valid-name' }, 'password', 'missing'],
      [
        'an unknown permission',
        { username: 'valid-name', password: 'password-123456', permissions: ['root'] },
        'permissions',
        'enum',
      ],
      [
        'permissions not a list',
        { username: 'valid-name', password: 'password-123456', permissions: 'read' },
        'permissions',
        'list_type',
      ],
    ])('refuses %s with 422', async (_name, body, field, type) => {
      const res = await http(sut.baseUrl, 'POST', '/auth/register', { token: admin, body });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.detail).toContainEqual({
        loc: ['body', field],
        msg: expect.any(String),
        type,
      });
    });
  });

  describe('GET /auth/users and /auth/users/stats', () => {
    it('lists every user as UserPublic', async () => {
      const res = await http(sut.baseUrl, 'GET', '/auth/users', { token: admin });
      expect(res.status).toBe(200);
      const names = res.body.map((u: { username: string }) => u.username);
      expect(names).toEqual(expect.arrayContaining([TEST_ADMIN.username, alice.username]));
      const entry = res.body.find((u: { user_id: string }) => u.user_id === alice.userId);
      expect(Object.keys(entry).sort()).toEqual([
        'created_at',
        'email',
        'is_active',
        'owned_topics',
        'permissions',
        'user_id',
        'username',
      ]);
    });

    it('counts users and active users, following changes', async () => {
      const before = (await http(sut.baseUrl, 'GET', '/auth/users/stats', { token: admin })).body;
      const all = (await http(sut.baseUrl, 'GET', '/auth/users', { token: admin })).body;
      expect(before).toEqual({
        total_users: all.length,
        active_users: all.filter((u: { is_active: boolean }) => u.is_active).length,
      });
      const bob = await registerUser(sut.baseUrl, admin);
      await http(sut.baseUrl, 'PATCH', `/auth/users/${bob.userId}`, {
        token: admin,
        body: { is_active: false },
      });
      const after = (await http(sut.baseUrl, 'GET', '/auth/users/stats', { token: admin })).body;
      expect(after).toEqual({
        total_users: before.total_users + 1,
        active_users: before.active_users,
      });
    });
  });

  describe('PATCH /auth/users/{user_id}', () => {
    const patch = (userId: string, body: unknown) =>
      http(sut.baseUrl, 'PATCH', `/auth/users/${userId}`, { token: admin, body });

    it('answers {} with 200 and the user unchanged', async () => {
      const before = (await me(sut.baseUrl, alice.token)).body;
      const res = await patch(alice.userId, {});
      expect(res.status).toBe(200);
      expect(res.body).toEqual(before);
    });

    it('applies only the keys present; email null clears the e-mail', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      const set = await patch(bob.userId, { email: 'bob@example.com' });
      expect(set.body).toMatchObject({ email: 'bob@example.com', permissions: ['read', 'write'] });
      const cleared = await patch(bob.userId, { email: null });
      expect(cleared.body).toMatchObject({
        email: null,
        permissions: ['read', 'write'],
        is_active: true,
      });
    });

    it('changes the password', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      expect((await patch(bob.userId, { password: 'a-new-password' })).status).toBe(200);
      await expect(loginFull(sut.baseUrl, bob.username, 'a-new-password')).resolves.toBeDefined();
      const old = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: bob.username, password: bob.password },
      });
      expect(old.status).toBe(401);
    });

    it('makes a permission change effective on the very next request', async () => {
      const bob = await registerUser(sut.baseUrl, admin, ['read']);
      expect((await http(sut.baseUrl, 'GET', '/auth/users', { token: bob.token })).status).toBe(
        403,
      );
      await patch(bob.userId, { permissions: ['read', 'admin'] });
      expect((await http(sut.baseUrl, 'GET', '/auth/users', { token: bob.token })).status).toBe(
        200,
      );
      await patch(bob.userId, { permissions: ['read'] });
      expect((await http(sut.baseUrl, 'GET', '/auth/users', { token: bob.token })).status).toBe(
        403,
      );
    });

    it('deactivation: existing tokens get 403 User is inactive at once, login 403; reactivation restores', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      expect((await me(sut.baseUrl, bob.token)).status).toBe(200);
      await patch(bob.userId, { is_active: false });
      const res = await me(sut.baseUrl, bob.token);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ detail: 'User is inactive', code: 'USER_INACTIVE' });
      const loginRes = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: bob.username, password: bob.password },
      });
      expect(loginRes.status).toBe(403);
      expect(loginRes.body.detail).toBe('User account is inactive');
      await patch(bob.userId, { is_active: true });
      expect((await me(sut.baseUrl, bob.token)).status).toBe(200);
    });

    it("answers an unknown id with 404 User with ID '<id>' not found", async () => {
      const res = await patch('no-such-user', { is_active: false });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        detail: "User with ID 'no-such-user' not found",
        code: 'USER_NOT_FOUND',
      });
    });

    it.each([
      [{ password: 'short' }, 'password'],
      [{ permissions: ['superuser'] }, 'permissions'],
      [{ permissions: null }, 'permissions'],
      [{ is_active: 'yes' }, 'is_active'],
      [{ is_active: null }, 'is_active'],
    ])('refuses %j with 422', async (body, field) => {
      const res = await patch(alice.userId, body);
      expect(res.status).toBe(422);
      expect(res.body.detail.map((d: { loc: string[] }) => d.loc)).toContainEqual(['body', field]);
    });
  });

  describe('DELETE /auth/users/{user_id}', () => {
    it('refuses to delete yourself with 400', async () => {
      const res = await http(sut.baseUrl, 'DELETE', `/auth/users/${adminId}`, { token: admin });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        detail: 'Cannot delete your own user account',
        code: expect.any(String),
      });
      expect((await me(sut.baseUrl, admin)).status).toBe(200);
    });

    it('deletes a user: 204, its tokens get 401 User not found, it can no longer log in', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      const res = await http(sut.baseUrl, 'DELETE', `/auth/users/${bob.userId}`, { token: admin });
      expect(res.status).toBe(204);
      expect401(await me(sut.baseUrl, bob.token), 'User not found');
      const loginRes = await http(sut.baseUrl, 'POST', '/auth/login', {
        form: { username: bob.username, password: bob.password },
      });
      expect401(loginRes, 'Incorrect username or password');
      const list = (await http(sut.baseUrl, 'GET', '/auth/users', { token: admin })).body;
      expect(list.map((u: { user_id: string }) => u.user_id)).not.toContain(bob.userId);
    });

    it('answers an unknown id with 404', async () => {
      const res = await http(sut.baseUrl, 'DELETE', '/auth/users/no-such-user', { token: admin });
      expect(res.status).toBe(404);
      expect(res.body.detail).toBe("User with ID 'no-such-user' not found");
    });

    it('frees the username for a new user', async () => {
      const bob = await registerUser(sut.baseUrl, admin);
      await http(sut.baseUrl, 'DELETE', `/auth/users/${bob.userId}`, { token: admin });
      const res = await http(sut.baseUrl, 'POST', '/auth/register', {
        token: admin,
        body: { username: bob.username, password: 'password-123456' },
      });
      expect(res.status).toBe(201);
      expect(res.body.user_id).not.toBe(bob.userId);
      expect401(await me(sut.baseUrl, bob.token), 'User not found');
    });
  });

  if (backend === 'valkey') {
    describe('two instances on one Valkey', () => {
      let a: TestApp;
      let b: TestApp;

      beforeAll(async () => {
        const keyPrefix = `${unique('pair')}:`;
        // A long cache so that only the user-changed event can explain fresh answers.
        a = await cluster.start({ 'auth.user_cache_ttl': 300 }, { keyPrefix });
        b = await cluster.start({ 'auth.user_cache_ttl': 300 }, { keyPrefix });
      });

      it('a change made on one instance takes effect on the other within seconds', async () => {
        const adminA = await adminLogin(a.baseUrl);
        const bob = await registerUser(a.baseUrl, adminA, ['read']);
        expect((await http(b.baseUrl, 'GET', '/auth/users', { token: bob.token })).status).toBe(
          403,
        );
        expect((await me(b.baseUrl, bob.token)).status).toBe(200); // now cached on b

        await http(a.baseUrl, 'PATCH', `/auth/users/${bob.userId}`, {
          token: adminA,
          body: { is_active: false },
        });
        await expectEventually(async () => (await me(b.baseUrl, bob.token)).status === 403);

        await http(a.baseUrl, 'PATCH', `/auth/users/${bob.userId}`, {
          token: adminA,
          body: { is_active: true, permissions: ['read', 'admin'] },
        });
        await expectEventually(
          async () =>
            (await http(b.baseUrl, 'GET', '/auth/users', { token: bob.token })).status === 200,
        );
      });

      it('a logout on one instance revokes the token on the other', async () => {
        const adminA = await adminLogin(a.baseUrl);
        const bob = await registerUser(a.baseUrl, adminA);
        expect((await http(a.baseUrl, 'POST', '/auth/logout', { token: bob.token })).status).toBe(
          204,
        );
        expect401(await me(b.baseUrl, bob.token), 'Token has been revoked');
      });
    });
  }
});

async function expectEventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 3 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(BACKENDS)('bootstrap admin (%s)', (backend) => {
  const cluster = new Cluster(backend);
  afterAll(() => cluster.stop());

  it('generates a password when none is configured (development) and it logs in', async () => {
    const sut = await cluster.start({ 'auth.bootstrap_admin_password': '' });
    const generated = sut.app.get(UsersService).generatedAdminPassword;
    expect(generated).toMatch(/^\S{12,}$/);
    const admin = await loginFull(sut.baseUrl, TEST_ADMIN.username, generated as string);
    expect((await me(sut.baseUrl, admin.token)).body.permissions).toEqual([
      'admin',
      'read',
      'write',
    ]);
  });

  if (backend === 'valkey') {
    it('rotates the stored password when the configured one changes, and keeps it when unset', async () => {
      const keyPrefix = `${unique('boot')}:`;
      await cluster.start({}, { keyPrefix });
      const rotated = await cluster.start(
        { 'auth.bootstrap_admin_password': 'a-rotated-password' },
        { keyPrefix },
      );
      await expect(
        loginFull(rotated.baseUrl, TEST_ADMIN.username, 'a-rotated-password'),
      ).resolves.toBeDefined();
      const old = await http(rotated.baseUrl, 'POST', '/auth/login', {
        form: { username: TEST_ADMIN.username, password: TEST_ADMIN.password },
      });
      expect(old.status).toBe(401);

      const unset = await cluster.start({ 'auth.bootstrap_admin_password': '' }, { keyPrefix });
      expect(unset.app.get(UsersService).generatedAdminPassword).toBeNull();
      await expect(
        loginFull(unset.baseUrl, TEST_ADMIN.username, 'a-rotated-password'),
      ).resolves.toBeDefined();
    });
  }
});
