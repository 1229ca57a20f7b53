/** How big each scenario is: the full benchmark, or the tiny smoke run (`BENCH_QUICK=1`). */
export interface Sizes {
  http: { connections: number; warmupSec: number; durationSec?: number; amount?: number };
  bulk: {
    connections: number;
    warmupSec: number;
    durationSec?: number;
    amount?: number;
    batch: number;
  };
  fanout: {
    subscribers: number;
    procs: number;
    window: number;
    durationSec: number;
    maxMessages: number;
  };
  latency: { subscribers: number; procs: number; deliveriesPerSec: number; durationSec: number };
  idle: { sockets: number; procs: number; concurrency: number; settleMs: number };
  poll: { waiters: number; procs: number; batch: number; timeoutSec: number; settleMs: number };
  cross: { subscribersPerInstance: number; concurrency: number; durationSec: number };
}

export const FULL: Sizes = {
  http: { connections: 50, warmupSec: 1, durationSec: 6 },
  bulk: { connections: 50, warmupSec: 1, durationSec: 6, batch: 100 },
  fanout: { subscribers: 1000, procs: 2, window: 4, durationSec: 6, maxMessages: 100_000 },
  latency: { subscribers: 1000, procs: 2, deliveriesPerSec: 10_000, durationSec: 8 },
  idle: { sockets: 20_000, procs: 4, concurrency: 64, settleMs: 2000 },
  poll: { waiters: 5000, procs: 2, batch: 100, timeoutSec: 60, settleMs: 1000 },
  cross: { subscribersPerInstance: 25, concurrency: 16, durationSec: 6 },
};

export const QUICK: Sizes = {
  http: { connections: 10, warmupSec: 0, amount: 300 },
  bulk: { connections: 5, warmupSec: 0, amount: 30, batch: 100 },
  fanout: { subscribers: 50, procs: 1, window: 4, durationSec: 1, maxMessages: 200 },
  latency: { subscribers: 50, procs: 1, deliveriesPerSec: 1000, durationSec: 1 },
  idle: { sockets: 50, procs: 1, concurrency: 16, settleMs: 300 },
  poll: { waiters: 50, procs: 1, batch: 50, timeoutSec: 20, settleMs: 200 },
  cross: { subscribersPerInstance: 5, concurrency: 4, durationSec: 1 },
};
