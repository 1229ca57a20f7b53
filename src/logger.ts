import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import { RelayConfig } from './config/relay-config';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's `X-Request-Id` when well-formed, else a new one; echoed on the response. */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  response.setHeader('X-Request-Id', id);
  return id;
}

/** Level of the one log line per request: errors loud, client errors visible, the rest debug. */
export function requestLogLevel(status: number, error?: unknown): 'error' | 'info' | 'debug' {
  return error || status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
}

/** Structured JSON logs with one request id per request (echoed as `X-Request-Id`). */
export function loggerOptions(config: RelayConfig): Params {
  return {
    pinoHttp: {
      level: config.server.logLevel,
      genReqId: assignRequestId,
      customLogLevel: (_request, response, error) => requestLogLevel(response.statusCode, error),
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["sec-websocket-protocol"]',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.replace(/([?&]token=)[^&]*/i, '$1[redacted]'),
        }),
      },
    },
  };
}
