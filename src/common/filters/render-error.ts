import { DomainError, RequestValidationError, ValidationIssue } from '../errors';

/** An error response in the contract's shape: `{detail, code}` (422: `detail` is a list of issues). */
export interface RenderedError {
  status: number;
  body: { detail: string | ValidationIssue[]; code: string };
  headers: Record<string, string>;
}

/** The answer to a domain error, or null for anything else (the caller decides: usually 500). */
export function renderDomainError(exception: unknown): RenderedError | null {
  if (exception instanceof RequestValidationError) {
    return { status: 422, body: { detail: exception.issues, code: exception.code }, headers: {} };
  }
  if (exception instanceof DomainError) {
    return {
      status: exception.status,
      body: { detail: exception.detail, code: exception.code },
      headers: { ...exception.headers },
    };
  }
  return null;
}

/** What an unexpected failure answers (its details go to the log, never to the client). */
export function internalError(): RenderedError {
  return {
    status: 500,
    body: { detail: 'Internal Server Error', code: 'INTERNAL_ERROR' },
    headers: {},
  };
}
