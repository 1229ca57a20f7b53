import { ValkeyClient } from './valkey-connection';
import { ValkeyKeys } from './valkey-keys';

/**
 * `classic`: PUBLISH/SUBSCRIBE (standalone, or a cluster without sharded pub/sub);
 * `sharded`: SPUBLISH/SSUBSCRIBE, each channel served by the shard owning its slot.
 */
export type PubSubMode = 'classic' | 'sharded';

/** What every Valkey store shares: the command client, the key layout and the pub/sub flavour. */
export class ValkeyContext {
  constructor(
    readonly client: ValkeyClient,
    readonly keys: ValkeyKeys,
    readonly pubSubMode: PubSubMode,
  ) {}

  get publishCommand(): 'PUBLISH' | 'SPUBLISH' {
    return this.pubSubMode === 'sharded' ? 'SPUBLISH' : 'PUBLISH';
  }
}
