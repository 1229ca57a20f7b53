import { Counter, Registry } from 'prom-client';
import { CounterSeries, flushCounterSeries } from './counter-series';

function counter(registry: Registry): Counter<'op' | 'status'> {
  return new Counter({
    name: 'ops_total',
    help: 'ops',
    labelNames: ['op', 'status'],
    registers: [registry],
    collect: flushCounterSeries,
  });
}

async function values(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('ops_total');
  const { values: all } = await metric!.get();
  return Object.fromEntries(all.map((v) => [`${v.labels.op}/${v.labels.status}`, v.value]));
}

describe('CounterSeries', () => {
  it('shows every increment of every series when the registry is read, exactly once', async () => {
    const registry = new Registry();
    const ops = counter(registry);
    const ok = new CounterSeries(ops, { op: 'append', status: 'ok' });
    const failed = new CounterSeries(ops, { op: 'append', status: 'error' });
    for (let i = 0; i < 1000; i++) ok.inc();
    failed.inc(3);
    expect(await values(registry)).toEqual({ 'append/ok': 1000, 'append/error': 3 });
    // Read again with nothing new: unchanged (not counted twice); then more increments add up.
    expect(await values(registry)).toEqual({ 'append/ok': 1000, 'append/error': 3 });
    ok.inc(5);
    expect(await values(registry)).toEqual({ 'append/ok': 1005, 'append/error': 3 });
    expect(await registry.metrics()).toContain('ops_total{op="append",status="ok"} 1005');
  });

  it('refuses a counter declared without the collect hook (its counts would be lost)', () => {
    const plain = new Counter({ name: 'plain_total', help: 'p', registers: [new Registry()] });
    expect(() => new CounterSeries(plain, {})).toThrow(/collect: flushCounterSeries/);
  });

  it('keeps counters of separate registries apart', async () => {
    const [a, b] = [new Registry(), new Registry()];
    const inA = new CounterSeries(counter(a), { op: 'x', status: 'ok' });
    new CounterSeries(counter(b), { op: 'x', status: 'ok' }).inc(7);
    inA.inc(2);
    expect(await values(a)).toEqual({ 'x/ok': 2 });
    expect(await values(b)).toEqual({ 'x/ok': 7 });
  });
});
