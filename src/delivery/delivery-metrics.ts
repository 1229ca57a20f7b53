import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ErrorCounter } from '../common/filters/error-counter';
import { messageIdTime } from '../common/message-id';
import { RelayConfig } from '../config/relay-config';
import { METRICS } from '../metrics/metric-names';

export type Transport = 'websocket' | 'poll';

/** The relay's delivery series; the topic label is empty unless per-topic labels are enabled. */
@Injectable()
export class DeliveryMetrics {
  private readonly perTopic: boolean;

  constructor(
    @InjectMetric(METRICS.messagesDelivered)
    private readonly deliveredTotal: Counter<'transport' | 'topic'>,
    @InjectMetric(METRICS.messageLatency)
    private readonly latencySeconds: Histogram<'transport'>,
    @InjectMetric(METRICS.wsConnectionsActive) private readonly wsActive: Gauge,
    @InjectMetric(METRICS.pollWaitersActive) private readonly pollActive: Gauge,
    private readonly errors: ErrorCounter,
    config: RelayConfig,
  ) {
    this.perTopic = config.metrics.perTopicLabels;
  }

  delivered(transport: Transport, topic: string, count = 1): void {
    if (count > 0) this.deliveredTotal.inc({ transport, topic: this.perTopic ? topic : '' }, count);
  }

  /** Append-to-delivery time of a live message (replays are not observed: they are old by design). */
  latency(transport: Transport, messageId: string): void {
    this.latencySeconds.observe(
      { transport },
      Math.max(0, Date.now() - messageIdTime(messageId)) / 1000,
    );
  }

  socketOpened(): void {
    this.wsActive.inc();
  }

  socketClosed(): void {
    this.wsActive.dec();
  }

  pollStarted(): void {
    this.pollActive.inc();
  }

  pollEnded(): void {
    this.pollActive.dec();
  }

  error(code: string): void {
    this.errors.count(code);
  }
}
