import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { Logger } from 'pino';
import { HttpLogger, pinoHttp } from 'pino-http';
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

const roots = new WeakMap<RelayConfig, Logger>();

/** The root logger of a config: Nest's logger and the request log write through the same one. */
export function rootLogger(config: RelayConfig): Logger {
  let root = roots.get(config);
  if (!root) {
    root = pino({
      level: config.server.logLevel,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["sec-websocket-protocol"]',
        ],
        censor: '[redacted]',
      },
    });
    roots.set(config, root);
  }
  return root;
}

/**
 * nestjs-pino provides Nest's logger and `PinoLogger` over the root logger, without its
 * per-request `AsyncLocalStorage` context (`forRoutes: []`): on Node 20 that context keeps
 * promise hooks on in the whole process, about 8 % of a publish's CPU (bench/FINDINGS.md).
 * Request lines carry their request id themselves ({@link requestLogging}, the fast path, the
 * exception filter).
 */
export function loggerOptions(config: RelayConfig): Params {
  return { pinoHttp: { logger: rootLogger(config) }, useExisting: true, forRoutes: [] };
}

/**
 * One structured line per request through Express, with one request id per request (echoed as
 * `X-Request-Id`). Installed first, so that every answer carries the id, body errors included.
 */
export function requestLogging(config: RelayConfig): HttpLogger {
  return pinoHttp({
    logger: rootLogger(config),
    genReqId: assignRequestId,
    customLogLevel: (_request, response, error) => requestLogLevel(response.statusCode, error),
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url.replace(/([?&]token=)[^&]*/i, '$1[redacted]'),
      }),
    },
  });
}
