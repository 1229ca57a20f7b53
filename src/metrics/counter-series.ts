import { Counter, LabelValues } from 'prom-client';

const seriesOf = new WeakMap<Counter, Set<CounterSeries>>();

/**
 * One label set of a counter on a hot path. prom-client formats and looks up the label set on
 * every `inc`, bound children included (a few µs per publish across its counters, bench/FINDINGS.md);
 * here increments add up in a number and reach prom-client when the registry is read. The
 * counter must be declared with `collect: flushCounterSeries`, so a scrape sees every increment.
 */
export class CounterSeries<T extends string = string> {
  private pending = 0;

  constructor(
    private readonly counter: Counter<T>,
    private readonly labels: LabelValues<T>,
  ) {
    // Without the hook, increments would never reach the registry: refuse at start-up instead.
    // prom-client keeps the configuration's `collect` on the instance (its typings omit it);
    // @willsoto/nestjs-prometheus wraps it, so only its presence can be checked here.
    if (typeof (counter as { collect?: unknown }).collect !== 'function') {
      throw new Error('A counter counted through CounterSeries needs collect: flushCounterSeries');
    }
    let all = seriesOf.get(counter);
    if (!all) seriesOf.set(counter, (all = new Set()));
    all.add(this);
  }

  inc(value = 1): void {
    this.pending += value;
  }

  flush(): void {
    if (this.pending === 0) return;
    const value = this.pending;
    this.pending = 0;
    this.counter.inc(this.labels, value);
  }
}

/** The `collect` hook of a counter with `CounterSeries`: hands their increments over. */
export function flushCounterSeries(this: Counter): void {
  for (const series of seriesOf.get(this) ?? []) series.flush();
}
