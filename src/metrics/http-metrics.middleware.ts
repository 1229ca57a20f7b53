import { Injectable, NestMiddleware } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram } from 'prom-client';
import { CounterSeries } from './counter-series';
import { METRICS } from './metric-names';

type HttpLabels = 'method' | 'route' | 'status_code';

/** Request count and duration by route template (not raw path: bounded cardinality). */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  /** Bound label sets: prom-client would otherwise build the label set's key on every request. */
  private readonly series = new Map<string, { count: () => void; observe: (s: number) => void }>();

  constructor(
    @InjectMetric(METRICS.httpRequests) private readonly requests: Counter<HttpLabels>,
    @InjectMetric(METRICS.httpDuration) private readonly duration: Histogram<HttpLabels>,
  ) {}

  use(request: Request, response: Response, next: NextFunction): void {
    const start = process.hrtime.bigint();
    response.once('finish', () => {
      const routePath = (request.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${request.baseUrl}${routePath}` : 'unmatched';
      this.record(request.method, route, response.statusCode, start);
    });
    next();
  }

  /** One finished request; `start` from `process.hrtime.bigint()`. Also used by the fast path. */
  record(method: string, route: string, status: number, start: bigint): void {
    const series = this.seriesFor(method, route, status);
    series.count();
    series.observe(Number(process.hrtime.bigint() - start) / 1e9);
  }

  private seriesFor(method: string, route: string, status: number) {
    const key = `${method} ${route} ${status}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = { method, route, status_code: String(status) };
      const counter = new CounterSeries(this.requests, labels);
      const histogram = this.duration.labels(labels);
      series = { count: () => counter.inc(), observe: (s: number) => histogram.observe(s) };
      this.series.set(key, series);
    }
    return series;
  }
}
