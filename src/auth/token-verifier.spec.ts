import { JwtService } from '@nestjs/jwt';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '../common/errors';
import { loadConfig } from '../config/load-config';
import { MemoryMessageBus } from '../storage/memory/memory-message-bus';
import {
  MemoryTokenStore,
  MemoryTopicStore,
  MemoryUserStore,
} from '../storage/memory/memory-stores';
import { UserRecord } from '../storage/ports';
import { UsersService } from '../users/users.service';
import { JWT_ALGORITHM, TokenVerifier } from './token-verifier';

const SECRET = 'unit-test-secret-key-0123456789abcdef0123456789';

const b64url = (value: object | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

function hs(payload: object, secret = SECRET, alg = 'HS256'): string {
  const head = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`;
  return `${head}.${b64url(
    createHmac(`sha${alg.slice(2)}`, secret)
      .update(head)
      .digest(),
  )}`;
}

function rs(payload: object): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const head = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}`;
  return `${head}.${b64url(sign('sha256', Buffer.from(head), privateKey))}`;
}

describe('TokenVerifier', () => {
  let sut: TokenVerifier;
  let userStore: MemoryUserStore;
  let tokens: MemoryTokenStore;
  let bus: MemoryMessageBus;
  let users: UsersService;
  let alice: UserRecord;

  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
    const now = Math.floor(Date.now() / 1000);
    return {
      sub: alice.userId,
      username: alice.username,
      permissions: ['admin'],
      iat: now,
      exp: now + 600,
      jti: 'a'.repeat(32),
      ...overrides,
    };
  };

  beforeEach(async () => {
    const config = loadConfig({
      env: {},
      overrides: { 'auth.bcrypt_cost': 4, 'auth.user_cache_ttl': 300 },
    });
    userStore = new MemoryUserStore();
    tokens = new MemoryTokenStore();
    bus = new MemoryMessageBus();
    users = new UsersService(userStore, new MemoryTopicStore(), tokens, bus, config);
    users.onModuleInit();
    const jwt = new JwtService({
      secret: SECRET,
      signOptions: { algorithm: JWT_ALGORITHM },
      verifyOptions: { algorithms: [JWT_ALGORITHM] },
    });
    sut = new TokenVerifier(jwt, tokens, users, bus, config);
    alice = await users.create({
      username: 'alice',
      password: 'password-123',
      permissions: ['read'],
    });
  });

  it('resolves a valid token to the stored user, ignoring the permissions claim', async () => {
    const user = await sut.verify(hs(claims()));
    expect(user).toEqual({
      userId: alice.userId,
      username: 'alice',
      permissions: ['read'],
      jti: 'a'.repeat(32),
      exp: expect.any(Number),
    });
  });

  const rejected: Array<[string, () => string]> = [
    ['expired', () => hs(claims({ exp: Math.floor(Date.now() / 1000) - 1 }))],
    ['signed with another secret', () => hs(claims(), 'another-secret-another-secret-another')],
    ['alg none', () => `${b64url({ alg: 'none' })}.${b64url(claims())}.`],
    ['HS512 with the right secret', () => hs(claims(), SECRET, 'HS512')],
    ['RS256', () => rs(claims())],
    ['missing jti', () => hs(claims({ jti: undefined }))],
    ['missing sub', () => hs(claims({ sub: undefined }))],
    ['missing iat', () => hs(claims({ iat: undefined }))],
    ['missing permissions', () => hs(claims({ permissions: undefined }))],
    ['malformed', () => 'abc.def'],
  ];

  it.each(rejected)('refuses a token %s with 401', async (_name, make) => {
    await expect(sut.verify(make())).rejects.toEqual(
      new UnauthenticatedError('Invalid or expired token', 'INVALID_TOKEN'),
    );
  });

  it('refuses a deny-listed token with 401 Token has been revoked', async () => {
    await tokens.denyAccessToken('a'.repeat(32), 60);
    const error = await sut.verify(hs(claims())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ status: 401, detail: 'Token has been revoked' });
  });

  it('refuses an inactive user with 403 and a deleted one with 401', async () => {
    await users.update(alice.userId, { isActive: false });
    const inactive = await sut.verify(hs(claims())).catch((e: unknown) => e);
    expect(inactive).toBeInstanceOf(ForbiddenError);
    expect(inactive).toMatchObject({ status: 403, detail: 'User is inactive' });

    await users.delete(alice.userId);
    await expect(sut.verify(hs(claims()))).rejects.toMatchObject({
      status: 401,
      detail: 'User not found',
    });
  });

  it('caches the user, and drops the copy when a user-changed event arrives', async () => {
    await sut.verify(hs(claims()));
    // A change written by another instance: invisible here until its event arrives.
    await userStore.update(alice.userId, { permissions: ['read', 'write'] });
    expect((await sut.verify(hs(claims()))).permissions).toEqual(['read']);
    await bus.publishControl({ kind: 'user-changed', userId: alice.userId });
    expect((await sut.verify(hs(claims()))).permissions).toEqual(['read', 'write']);
  });

  it('does not cache a lookup that raced with an invalidation', async () => {
    const slowGet = jest.spyOn(userStore, 'getById');
    let release: () => void = () => undefined;
    slowGet.mockImplementationOnce(async (id) => {
      const stale = await MemoryUserStore.prototype.getById.call(userStore, id);
      await new Promise<void>((resolve) => (release = resolve));
      return stale;
    });
    const pending = sut.verify(hs(claims()));
    await new Promise((r) => setImmediate(r));
    await users.update(alice.userId, { permissions: ['write'] });
    release();
    expect((await pending).permissions).toEqual(['read']);
    expect((await sut.verify(hs(claims()))).permissions).toEqual(['write']);
  });

  describe('remembered signatures', () => {
    afterEach(() => jest.useRealTimers());

    it('still refuses a token once it expires, and once it is deny-listed', async () => {
      const token = hs(claims({ exp: Math.floor(Date.now() / 1000) + 2 }));
      await expect(sut.verify(token)).resolves.toMatchObject({ userId: alice.userId });
      jest.useFakeTimers({ now: Date.now() + 3_000, doNotFake: ['nextTick', 'setImmediate'] });
      await expect(sut.verify(token)).rejects.toMatchObject({ status: 401, code: 'INVALID_TOKEN' });
      jest.useRealTimers();

      const other = hs(claims({ jti: 'b'.repeat(32) }));
      await sut.verify(other);
      await sut.revoke('b'.repeat(32), alice.userId, 60);
      await expect(sut.verify(other)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    });

    it('drops a token revoked on another instance when its event arrives', async () => {
      const token = hs(claims({ jti: 'c'.repeat(32) }));
      const denied = jest.spyOn(tokens, 'isAccessTokenDenied');
      await sut.verify(token);
      await sut.verify(token);
      expect(denied).toHaveBeenCalledTimes(1); // remembered: no storage read per request
      // Another instance writes the deny-list entry, then announces it.
      await tokens.denyAccessToken('c'.repeat(32), 60);
      await bus.publishControl({
        kind: 'token-revoked',
        jti: 'c'.repeat(32),
        userId: alice.userId,
      });
      await expect(sut.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    });

    it('asks storage again after auth.user_cache_ttl, so a lost event costs at most that long', async () => {
      const token = hs(claims({ jti: 'd'.repeat(32) }));
      await sut.verify(token);
      await tokens.denyAccessToken('d'.repeat(32), 600); // no event
      await expect(sut.verify(token)).resolves.toMatchObject({ userId: alice.userId });
      jest.useFakeTimers({ now: Date.now() + 301_000, doNotFake: ['nextTick', 'setImmediate'] });
      await expect(sut.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    });

    it('verifies each distinct token string: a tampered copy of a known token is refused', async () => {
      const token = hs(claims());
      await sut.verify(token);
      const [head, , signature] = token.split('.');
      const forged = `${head}.${b64url(claims({ sub: 'someone-else' }))}.${signature}`;
      await expect(sut.verify(forged)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
    });
  });
});
