import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ErrorCounter } from '../common/filters/error-counter';
import { internalError, renderDomainError } from '../common/filters/render-error';
import { BadRequestError } from '../common/errors';
import { writeJson } from '../common/http/write-json';
import { isTrustedHost } from '../common/middleware/trusted-hosts';
import { RelayConfig } from '../config/relay-config';
import { assignRequestId, requestLogLevel } from '../logger';
import { HttpMetricsMiddleware } from '../metrics/http-metrics.middleware';
import { ClientGoneError, isPlainJsonRequest, parseJsonBody, readBody } from './json-body';

/** A route served below the Express router. Its controller route stays: it serves the rest. */
export interface FastRoute {
  /** Exact path (no query string); the method is POST. */
  path: string;
  /** Headers-only test; when false, the request goes to Express untouched. */
  accepts(request: IncomingMessage): boolean;
  /** Answers the parsed JSON body; throws domain errors, rendered as the exception filter does. */
  handle(request: IncomingMessage, body: unknown): Promise<{ status: number; body: unknown }>;
}

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The publish hot path. Express 5 and Nest's router cost far more per request than publishing
 * itself (bench/FINDINGS.md), so plain JSON requests to a registered route are served straight
 * from the HTTP server's `request` event, with the pipeline's steps in the pipeline's order: body
 * (422 for bad JSON), trusted host (400), then the route (auth, validation, work); the same error
 * shapes, request id, request metrics and request log. Everything else (other routes, other
 * methods, query strings, chunked or compressed bodies, missing credentials) goes to Express.
 */
@Injectable()
export class FastPath implements OnApplicationBootstrap {
  private readonly routes = new Map<string, FastRoute>();

  constructor(
    private readonly config: RelayConfig,
    private readonly metrics: HttpMetricsMiddleware,
    private readonly errors: ErrorCounter,
    private readonly adapterHost: HttpAdapterHost,
    @InjectPinoLogger('HttpFastPath') private readonly logger: PinoLogger,
  ) {}

  /** Runs after every module's `onModuleInit`, so all routes are registered. */
  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server) this.attach(server);
  }

  register(route: FastRoute): void {
    this.routes.set(route.path, route);
  }

  /** Puts the fast path in front of the server's one `request` listener (the Express app). */
  private attach(server: Server): void {
    if (!this.config.server.fastPath || this.routes.size === 0) return;
    const listeners = server.listeners('request') as Listener[];
    if (listeners.length !== 1) {
      throw new Error(`fast path: expected one request listener, found ${listeners.length}`);
    }
    const fallback = listeners[0];
    server.removeListener('request', fallback);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const route = this.routeFor(request);
      if (route) void this.serve(route, request, response);
      else fallback(request, response);
    });
  }

  private routeFor(request: IncomingMessage): FastRoute | undefined {
    if (request.method !== 'POST') return undefined;
    const route = this.routes.get(request.url ?? '');
    if (!route || !isPlainJsonRequest(request, this.config.server.maxBodyBytes)) return undefined;
    return route.accepts(request) ? route : undefined;
  }

  private async serve(
    route: FastRoute,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const start = process.hrtime.bigint();
    const id = assignRequestId(request, response);
    let status: number;
    let body: unknown;
    let failure: unknown;
    try {
      const parsed = parseJsonBody(await readBody(request));
      if (!isTrustedHost(request.headers.host, this.config.server.trustedHosts)) {
        throw new BadRequestError('Invalid host header', 'INVALID_HOST');
      }
      ({ status, body } = await route.handle(request, parsed));
    } catch (error) {
      if (error instanceof ClientGoneError) return;
      const known = renderDomainError(error);
      if (!known) {
        failure = error;
        this.logger.error({ err: error, reqId: id }, 'Unhandled error');
      }
      const rendered = known ?? internalError();
      this.errors.count(rendered.body.code);
      for (const [name, value] of Object.entries(rendered.headers)) {
        response.setHeader(name, value);
      }
      ({ status, body } = rendered);
    }
    if (response.destroyed) return;
    writeJson(response, status, JSON.stringify(body));
    this.metrics.record('POST', route.path, status, start);
    this.logRequest(request, id, status, start, failure);
  }

  /** The line pino-http writes for requests through Express. */
  private logRequest(
    request: IncomingMessage,
    id: string,
    status: number,
    start: bigint,
    error: unknown,
  ): void {
    const level = requestLogLevel(status, error);
    if (!this.logger.logger.isLevelEnabled(level)) return;
    const responseTime = Math.round(Number(process.hrtime.bigint() - start) / 1e6);
    const line = {
      req: { id, method: request.method, url: request.url },
      res: { statusCode: status },
      responseTime,
    };
    this.logger[level](line, status >= 500 ? 'request errored' : 'request completed');
  }
}
