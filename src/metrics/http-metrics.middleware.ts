import { Injectable, NestMiddleware } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram } from 'prom-client';
import { METRICS } from './metric-names';

type HttpLabels = 'method' | 'route' | 'status_code';

/** Request count and duration by route template (not raw path: bounded cardinality). */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(
    @InjectMetric(METRICS.httpRequests) private readonly requests: Counter<HttpLabels>,
    @InjectMetric(METRICS.httpDuration) private readonly duration: Histogram<HttpLabels>,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const start = process.hrtime.bigint();
    response.once('finish', () => {
      const routePath = (request.route as { path?: unknown } | undefined)?.path;
      const labels = {
        method: request.method,
        route: typeof routePath === 'string' ? `${request.baseUrl}${routePath}` : 'unmatched',
        status_code: String(response.statusCode),
      };
      this.requests.inc(labels);
      this.duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  }
}
