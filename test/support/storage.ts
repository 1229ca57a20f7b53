import { startApp, TestApp } from './app';
import {
  startValkeyCluster,
  startValkeyServer,
  ValkeyCluster,
  ValkeyServer,
} from './valkey-server';

export type BackendName = 'memory' | 'valkey';
export type StorageKind = BackendName | 'valkey-cluster';
/** The backends every contract-level suite runs against. */
export const BACKENDS: BackendName[] = ['memory', 'valkey'];

let seq = 0;

/** A unique name for the users, topics and key prefixes of one test run. */
export function unique(prefix: string): string {
  return `${prefix}_${process.pid}_${++seq}_${Date.now() % 1_000_000}`;
}

/**
 * The storage apps run on: memory, or a private Valkey (standalone, or a 3-master cluster)
 * started on first use and stopped by `stop()`. Apps started on one `Storage` share it.
 */
export class Storage {
  private server: ValkeyServer | ValkeyCluster | null = null;

  constructor(readonly kind: StorageKind) {}

  /** The settings that point an app at this storage (starting the server if needed). */
  async overrides(): Promise<Record<string, unknown>> {
    if (this.kind === 'memory') return {};
    if (this.kind === 'valkey') {
      const server = (this.server ??= await startValkeyServer()) as ValkeyServer;
      return {
        'storage.backend': 'valkey',
        'valkey.host': server.host,
        'valkey.port': server.port,
      };
    }
    const cluster = (this.server ??= await startValkeyCluster(3)) as ValkeyCluster;
    return { 'storage.backend': 'valkey', 'valkey.cluster_nodes': cluster.seeds };
  }

  async start(overrides: Record<string, unknown> = {}): Promise<TestApp> {
    return startApp({ overrides: { ...(await this.overrides()), ...overrides } });
  }

  /** Ports of the Valkey server(s) started for this storage. */
  ports(): number[] {
    if (!this.server) return [];
    return 'nodes' in this.server ? this.server.nodes.map((n) => n.port) : [this.server.port];
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = null;
  }
}
