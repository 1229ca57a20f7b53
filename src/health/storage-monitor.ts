import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { METRICS } from '../metrics/metric-names';
import { StorageHealth } from '../storage/ports';

const CHECK_TIMEOUT_MS = 1000;
const INTERVAL_MS = 5000;

/** Pings storage for `/ready` and keeps `relay_storage_up` current. */
@Injectable()
export class StorageMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly health: StorageHealth,
    @InjectMetric(METRICS.storageUp) private readonly up: Gauge,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), INTERVAL_MS);
    this.timer.unref();
    void this.check();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** `ok` or `unavailable` (no internals: the endpoint is public). */
  async check(): Promise<string> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.health.ping(),
        new Promise((_, reject) => {
          timeout = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
        }),
      ]);
      this.up.set(1);
      return 'ok';
    } catch {
      this.up.set(0);
      return 'unavailable';
    } finally {
      clearTimeout(timeout);
    }
  }
}
