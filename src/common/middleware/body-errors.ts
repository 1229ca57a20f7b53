import type { NextFunction, Request, Response } from 'express';
import {
  BadRequestError,
  DomainError,
  PayloadTooLargeError,
  RequestValidationError,
} from '../errors';

/** body-parser / raw-body failures carry `type` and `status`. */
interface ParserError {
  type?: unknown;
  status?: unknown;
}

/** Turns body-parser failures into domain errors before Nest maps them to a generic 400. */
export function toBodyError(error: unknown): unknown {
  const { type, status } = (error ?? {}) as ParserError;
  if (typeof type !== 'string' || typeof status !== 'number') return error;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError();
    case 'entity.parse.failed':
      return RequestValidationError.single(['body'], 'JSON decode error', 'json_invalid');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new DomainError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported content encoding or charset',
      );
    default:
      return status >= 400 && status < 500
        ? new DomainError(status, 'BAD_REQUEST', 'Malformed request body')
        : new BadRequestError('Malformed request body');
  }
}

export function bodyErrorMiddleware(
  error: unknown,
  _req: Request,
  _res: Response,
  next: NextFunction,
): void {
  next(toBodyError(error));
}
