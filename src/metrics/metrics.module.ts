import { DynamicModule, Global, Module } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import {
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import { ErrorCounter } from '../common/filters/error-counter';
import { flushCounterSeries } from './counter-series';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { METRICS } from './metric-names';
import { MetricsController } from './metrics.controller';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Counters that hot paths count through `CounterSeries`: handed over when the registry is read. */
const HOT_PATH = { collect: flushCounterSeries };

const metricProviders = [
  makeCounterProvider({
    name: METRICS.messagesReceived,
    help: 'Messages accepted for publishing',
    labelNames: ['topic'],
    ...HOT_PATH,
  }),
  makeCounterProvider({
    name: METRICS.messagesDelivered,
    help: 'Messages delivered to consumers',
    labelNames: ['transport', 'topic'],
  }),
  makeHistogramProvider({
    name: METRICS.messageLatency,
    help: 'Time from append to delivery',
    labelNames: ['transport'],
    buckets: LATENCY_BUCKETS,
  }),
  makeGaugeProvider({ name: METRICS.wsConnectionsActive, help: 'Open WebSocket connections' }),
  makeGaugeProvider({ name: METRICS.pollWaitersActive, help: 'Long-poll requests waiting' }),
  makeCounterProvider({
    name: METRICS.storageOperations,
    help: 'Storage operations by outcome',
    labelNames: ['operation', 'status'],
    ...HOT_PATH,
  }),
  makeGaugeProvider({
    name: METRICS.storageUp,
    help: '1 when the storage backend answers, else 0',
  }),
  makeCounterProvider({
    name: METRICS.errors,
    help: 'Error responses and frames by code',
    labelNames: ['code'],
  }),
  makeCounterProvider({
    name: METRICS.httpRequests,
    help: 'HTTP requests',
    labelNames: ['method', 'route', 'status_code'],
    ...HOT_PATH,
  }),
  makeHistogramProvider({
    name: METRICS.httpDuration,
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
  }),
];

@Global()
@Module({})
export class MetricsModule {
  static forRoot(): DynamicModule {
    // Default process metrics are registered once per registry (tests run several apps at once).
    if (!register.getSingleMetric('process_cpu_seconds_total')) collectDefaultMetrics();
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({
          path: '/metrics',
          controller: MetricsController,
          defaultMetrics: { enabled: false },
        }),
      ],
      providers: [...metricProviders, ErrorCounter, HttpMetricsMiddleware],
      exports: [...metricProviders, ErrorCounter, HttpMetricsMiddleware],
    };
  }
}
