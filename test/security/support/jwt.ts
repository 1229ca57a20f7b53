import { createHmac, createSign, generateKeyPairSync, KeyObject } from 'node:crypto';

/** Hand-made JWTs for forgery tests (no JWT library in the way, so anything can be produced). */

export function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

export function decodePart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

export function signHs256(
  payload: Record<string, unknown>,
  secret: string | Buffer,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

export function unsigned(payload: Record<string, unknown>, alg = 'none'): string {
  return `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
}

let keys: { privateKey: KeyObject; publicKey: KeyObject } | null = null;

export function rsaKeys(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  keys ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...keys,
    publicPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export function signRs256(payload: Record<string, unknown>): string {
  const head = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(head).sign(rsaKeys().privateKey);
  return `${head}.${b64url(signature)}`;
}

/** Valid-looking claims for `userId` (override or delete fields to make them invalid). */
export function claims(
  user: { userId: string; username: string; permissions?: string[] },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const base: Record<string, unknown> = {
    sub: user.userId,
    username: user.username,
    permissions: user.permissions ?? ['read', 'write'],
    iat: now,
    exp: now + 600,
    jti: `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}
