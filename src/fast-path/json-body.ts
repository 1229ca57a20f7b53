import type { IncomingMessage } from 'node:http';
import { RequestValidationError } from '../common/errors';

/**
 * Body handling of the fast path, equal to what the Express pipeline does for the requests the
 * fast path takes (body-parser's `json()` in strict mode, its UTF-8 decoding): anything else is
 * left to Express.
 */

/** `application/json`, optionally with `charset=utf-8`: the only media types taken. */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*("?)utf-8\1\s*)?$/i;

/** Headers-only test: a JSON body of declared length within `limit`, not compressed or chunked. */
export function isPlainJsonRequest(request: IncomingMessage, limit: number): boolean {
  const { headers } = request;
  const type = headers['content-type'];
  const length = headers['content-length'];
  if (type === undefined || length === undefined || !PLAIN_JSON.test(type)) return false;
  if (headers['transfer-encoding'] !== undefined) return false;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const declared = Number(length);
  return Number.isSafeInteger(declared) && declared >= 0 && declared <= limit;
}

/** The client went away before its body arrived: nothing to answer. */
export class ClientGoneError extends Error {
  constructor() {
    super('client closed the request before its body arrived');
  }
}

/** Reads the whole (length-checked) body. */
export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    request.once('error', () => reject(new ClientGoneError()));
    request.once('close', () => {
      if (!request.complete) reject(new ClientGoneError());
    });
  });
}

const JSON_INVALID = (): RequestValidationError =>
  RequestValidationError.single(['body'], 'JSON decode error', 'json_invalid');

/**
 * body-parser's strict `json()`: empty ⇒ `{}`; a byte-order mark is dropped; the first
 * non-blank character must open an object or an array; otherwise 422 `json_invalid`.
 */
export function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*(.)/s.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw JSON_INVALID();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw JSON_INVALID();
  }
}
