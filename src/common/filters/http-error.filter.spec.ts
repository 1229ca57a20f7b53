import { ArgumentsHost, Logger, NotFoundException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AccessDeniedError, RateLimitedError, RequestValidationError } from '../errors';
import { ErrorCounter } from './error-counter';
import { HttpErrorFilter } from './http-error.filter';

function fakeResponse() {
  const res = {
    statusCode: 0,
    body: undefined as unknown,
    headers: {} as Record<string, string>,
    headersSent: false,
    setHeader: (name: string, value: string) => (res.headers[name] = value),
    status: (code: number) => ((res.statusCode = code), res),
    json: (body: unknown) => ((res.body = body), res),
    end: jest.fn(),
  };
  return res;
}

function hostFor(response: ReturnType<typeof fakeResponse>): ArgumentsHost {
  const request = { id: 'req-42', path: '/x', method: 'GET' };
  return {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
}

describe('HttpErrorFilter', () => {
  const counted: string[] = [];
  const errors = { count: (code: string) => counted.push(code) } as unknown as ErrorCounter;
  const adapterHost = {
    httpAdapter: { getInstance: () => ({ router: { stack: [] } }) },
  } as unknown as HttpAdapterHost;
  const sut = new HttpErrorFilter(adapterHost, errors);

  it('renders a domain error as {detail, code} with its status and headers', () => {
    const res = fakeResponse();
    sut.catch(new RateLimitedError(12), hostFor(res));
    expect(res.statusCode).toBe(429);
    expect(res.body).toEqual({ detail: 'Rate limit exceeded', code: 'RATE_LIMITED' });
    expect(res.headers['Retry-After']).toBe('12');
    sut.catch(new AccessDeniedError(), hostFor(res));
    expect(res.body).toEqual({ detail: 'Access denied to topic', code: 'ACCESS_DENIED' });
  });

  it('renders validation errors as the 422 list', () => {
    const res = fakeResponse();
    sut.catch(RequestValidationError.single(['query', 'limit'], 'bad', 'int_type'), hostFor(res));
    expect(res.statusCode).toBe(422);
    expect(res.body).toEqual({
      detail: [{ loc: ['query', 'limit'], msg: 'bad', type: 'int_type' }],
      code: 'VALIDATION_ERROR',
    });
  });

  it('answers unknown errors with a bare 500 and logs them with the request id', () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const res = fakeResponse();
    sut.catch(new Error('secret internals: password=hunter2'), hostFor(res));
    expect(res.statusCode).toBe(500);
    expect(res.body).toEqual({ detail: 'Internal Server Error', code: 'INTERNAL_ERROR' });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect(log).toHaveBeenCalledWith(
      expect.objectContaining({ reqId: 'req-42' }),
      'Unhandled error',
    );
    log.mockRestore();
  });

  it('renders the router 404 as JSON and counts error codes', () => {
    const res = fakeResponse();
    sut.catch(new NotFoundException('Cannot GET /x'), hostFor(res));
    expect(res.statusCode).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found', code: 'NOT_FOUND' });
    expect(counted).toContain('INTERNAL_ERROR');
    expect(counted).toContain('NOT_FOUND');
  });
});
