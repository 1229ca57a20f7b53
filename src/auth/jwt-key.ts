import { createSecretKey, KeyObject } from 'node:crypto';

/**
 * The HS256 key as a `KeyObject`. Given a string, jsonwebtoken first tries to parse it as a PEM
 * public key on every verify (and throws, and catches): ~0.6 ms per request instead of ~20 µs.
 */
export function jwtSecretKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}
