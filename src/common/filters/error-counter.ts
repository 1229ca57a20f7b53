import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';

export const ERRORS_TOTAL = 'relay_errors_total';

/** Counts error responses by stable code (`relay_errors_total{code}`). */
@Injectable()
export class ErrorCounter {
  constructor(@InjectMetric(ERRORS_TOTAL) private readonly counter: Counter<'code'>) {}

  count(code: string): void {
    this.counter.inc({ code });
  }
}
