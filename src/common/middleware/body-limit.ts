import type { NextFunction, Request, Response } from 'express';
import { PayloadTooLargeError } from '../errors';

/**
 * Refuses oversized bodies without reading them: a declared Content-Length over the limit gets 413
 * at once, and a chunked body is cut off as soon as it passes the limit. (body-parser would first
 * read the whole body off the socket, so a client could hold a connection open indefinitely.)
 * Both answers close the connection.
 */
export function bodyLimitMiddleware(limit: number) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      response.setHeader('Connection', 'close');
      next(new PayloadTooLargeError());
      return;
    }
    if (declared === undefined && request.headers['transfer-encoding'] !== undefined) {
      let seen = 0;
      const count = (chunk: Buffer): void => {
        seen += chunk.length;
        if (seen <= limit) return;
        request.off('data', count);
        if (response.headersSent) return;
        const error = new PayloadTooLargeError();
        response.setHeader('Connection', 'close');
        response.status(error.status).json({ detail: error.detail, code: error.code });
      };
      request.on('data', count);
    }
    next();
  };
}
