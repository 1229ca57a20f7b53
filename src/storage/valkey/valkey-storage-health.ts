import { Cluster } from 'ioredis';
import { StorageUnavailableError } from '../../common/errors';
import { StorageHealth } from '../ports';
import { ValkeyClient } from './valkey-connection';

/** A real PING to the server, or to every master of a cluster, bounded by `timeoutMs`. */
export class ValkeyStorageHealth extends StorageHealth {
  readonly backend = 'valkey' as const;

  constructor(
    private readonly client: ValkeyClient,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  async ping(): Promise<void> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    if (nodes.length === 0) throw new StorageUnavailableError();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StorageUnavailableError()), this.timeoutMs);
    });
    try {
      await Promise.race([Promise.all(nodes.map((node) => node.ping())), timeout]);
    } catch {
      throw new StorageUnavailableError();
    } finally {
      clearTimeout(timer);
    }
  }
}
