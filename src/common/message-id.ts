import { RequestValidationError } from './errors';

const ID_PATTERN = /^(\d{1,20})-(\d{1,20})$/;
const U64_MAX = 18446744073709551615n;

function stripZeros(s: string): string {
  const t = s.replace(/^0+(?=\d)/, '');
  return t;
}

/** Returns the canonical form of a `<ms>-<seq>` id (both parts unsigned 64-bit), or null. */
export function normalizeMessageId(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  const m = ID_PATTERN.exec(id);
  if (!m) return null;
  const ms = stripZeros(m[1]);
  const seq = stripZeros(m[2]);
  if ((ms.length === 20 && BigInt(ms) > U64_MAX) || (seq.length === 20 && BigInt(seq) > U64_MAX)) {
    return null;
  }
  return `${ms}-${seq}`;
}

/** Like `normalizeMessageId` but throws a 422 naming `loc`. */
export function requireMessageId(id: unknown, loc: Array<string | number>): string {
  const normalized = normalizeMessageId(id);
  if (normalized === null) {
    throw RequestValidationError.single(
      loc,
      'Invalid message id: expected <ms>-<seq>',
      'message_id',
    );
  }
  return normalized;
}

function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders two canonical ids as (ms, seq) pairs. */
export function compareMessageIds(a: string, b: string): number {
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  return (
    compareDecimal(a.slice(0, da), b.slice(0, db)) ||
    compareDecimal(a.slice(da + 1), b.slice(db + 1))
  );
}

export function messageIdTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

let lastIsoMs = NaN;
let lastIso = '';

/**
 * `new Date(ms).toISOString()`, remembered for the last millisecond asked: every message
 * published within one millisecond shares it (formatting a date costs more than the rest of
 * building a message).
 */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/**
 * Binary search over id-ordered `messages[from..]`: index of the first id greater than `id`
 * (`orEqual`: greater than or equal), or `messages.length`.
 */
export function firstIndexAfter(
  messages: ReadonlyArray<{ id: string }>,
  from: number,
  id: string,
  orEqual = false,
): number {
  const bound = orEqual ? 0 : 1;
  let lo = from;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareMessageIds(messages[mid].id, id) < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
