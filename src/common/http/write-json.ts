import type { ServerResponse } from 'node:http';

/**
 * Writes a JSON answer as Express's `res.json` does (status, `application/json; charset=utf-8`,
 * `Content-Length`), for answers written below Express. Headers set earlier (`X-Request-Id`,
 * `Connection: close` while draining, error headers) stay. Nothing goes to a client that left.
 */
export function writeJson(response: ServerResponse, status: number, body: string | Buffer): void {
  if (response.destroyed || response.headersSent) return;
  response.statusCode = status;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(body);
}
