import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ErrorCounter } from './error-counter';
import { allowedMethods } from './route-index';
import { internalError, renderDomainError, RenderedError } from './render-error';

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'NOT_AUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Renders every HTTP error in the contract's shape: `{detail, code}` (422: a list of issues). */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly errors: ErrorCounter,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    const rendered = this.render(exception, request);
    this.errors.count(rendered.body.code);
    if (response.headersSent) {
      response.end();
      return;
    }
    for (const [name, value] of Object.entries(rendered.headers)) response.setHeader(name, value);
    response.status(rendered.status).json(rendered.body);
  }

  private render(exception: unknown, request: Request): RenderedError {
    const known = renderDomainError(exception);
    if (known) return known;
    if (exception instanceof HttpException) return this.renderHttpException(exception, request);
    this.logger.error(
      { err: exception, reqId: (request as Request & { id?: unknown }).id },
      'Unhandled error',
    );
    return internalError();
  }

  private renderHttpException(exception: HttpException, request: Request): RenderedError {
    const status = exception.getStatus();
    if (status === 404 && exception.message.startsWith('Cannot ')) {
      const methods = allowedMethods(this.adapterHost, request.path);
      if (methods.length > 0) {
        return {
          status: 405,
          body: { detail: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' },
          headers: { Allow: methods.join(', ') },
        };
      }
      return { status: 404, body: { detail: 'Not Found', code: 'NOT_FOUND' }, headers: {} };
    }
    const response = exception.getResponse();
    const message =
      typeof response === 'object' && response !== null && 'message' in response
        ? response.message
        : exception.message;
    const detail = Array.isArray(message) ? message.join('; ') : String(message);
    const headers: Record<string, string> = {};
    if (status === 429) headers['Retry-After'] = '60';
    return {
      status,
      body: { detail, code: STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'ERROR') },
      headers,
    };
  }
}
