/** One item of a 422 body, in the shape FastAPI/pydantic clients already parse. */
export interface ValidationIssue {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/**
 * Base of every error a service may throw. It names an HTTP status and a stable `code`; the HTTP
 * filter and the WebSocket mapper render it, so services never depend on a transport.
 */
export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

const BEARER = { 'WWW-Authenticate': 'Bearer' };

export class BadRequestError extends DomainError {
  constructor(detail: string, code = 'BAD_REQUEST') {
    super(400, code, detail);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(detail = 'Not authenticated', code = 'NOT_AUTHENTICATED', withChallenge = true) {
    super(401, code, detail, withChallenge ? BEARER : {});
  }
}

export class ForbiddenError extends DomainError {
  constructor(detail: string, code = 'FORBIDDEN') {
    super(403, code, detail);
  }
}

export class PermissionRequiredError extends ForbiddenError {
  constructor(permission: string) {
    super(`Permission '${permission}' required`, 'PERMISSION_DENIED');
  }
}

export class AccessDeniedError extends ForbiddenError {
  constructor(detail = 'Access denied to topic') {
    super(detail, 'ACCESS_DENIED');
  }
}

export class NotFoundError extends DomainError {
  constructor(detail: string, code = 'NOT_FOUND') {
    super(404, code, detail);
  }
}

export class TopicNotFoundError extends NotFoundError {
  constructor(readonly topic: string) {
    super(`Topic '${topic}' not found`, 'TOPIC_NOT_FOUND');
  }
}

export class ConflictError extends DomainError {
  constructor(detail: string, code = 'CONFLICT') {
    super(409, code, detail);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(detail = 'Request body exceeds the configured limit') {
    super(413, 'PAYLOAD_TOO_LARGE', detail);
  }
}

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number, detail = 'Rate limit exceeded') {
    super(429, 'RATE_LIMITED', detail, {
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(detail: string, code = 'TOO_MANY_REQUESTS', retryAfterSeconds = 1) {
    super(429, code, detail, { 'Retry-After': String(retryAfterSeconds) });
  }
}

export class StorageUnavailableError extends DomainError {
  constructor(detail = 'Storage is unavailable, try again shortly') {
    super(503, 'STORAGE_UNAVAILABLE', detail, { 'Retry-After': '1' });
  }
}

/** 422 with the list form; `loc` starts with `body`, `query` or `path`. */
export class RequestValidationError extends DomainError {
  constructor(readonly issues: ValidationIssue[]) {
    super(422, 'VALIDATION_ERROR', issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
  }

  static single(
    loc: Array<string | number>,
    msg: string,
    type = 'value_error',
  ): RequestValidationError {
    return new RequestValidationError([{ loc, msg, type }]);
  }
}
