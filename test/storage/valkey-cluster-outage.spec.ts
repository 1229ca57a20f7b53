import { Redis } from 'ioredis';
import { StorageUnavailableError } from '../../src/common/errors';
import { StoredMessage } from '../../src/storage/ports';
import { keySlot } from '../../src/storage/valkey/key-slot';
import { ValkeyKeys } from '../../src/storage/valkey/valkey-keys';
import { startValkeyCluster, ValkeyCluster } from '../support/valkey-server';
import {
  eventually,
  openStorage,
  retryUntilResolved,
  StorageInstance,
  unique,
} from './storage-instance';

describe('valkey cluster: a shard goes down and comes back', () => {
  let cluster: ValkeyCluster;
  const instances: StorageInstance[] = [];

  const open = async (prefix: string): Promise<StorageInstance> => {
    const instance = await openStorage({
      'storage.backend': 'valkey',
      'valkey.cluster_nodes': cluster.seeds,
      'valkey.key_prefix': `${prefix}:`,
      'valkey.command_timeout': '1s',
    });
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    cluster = await startValkeyCluster(3);
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await cluster?.stop();
  });

  it('fails fast while the shard is down, then recovers by itself, bus included', async () => {
    const prefix = unique('outage');
    const sut = await open(prefix);
    const publisher = await open(prefix);
    const keys = new ValkeyKeys(`${prefix}:`);
    const victim = cluster.servers[1];
    const topic = topicServedBy(victim.port, keys, await slotOwners(cluster));
    const received: StoredMessage[] = [];
    let resyncs = 0;
    sut.bus.onResync(() => resyncs++);
    await sut.bus.subscribe(topic, (m) => received.push(m));

    await victim.kill('SIGKILL');
    const started = Date.now();
    await expect(
      publisher.messages.append({ topic, payload: {}, metadata: {} }),
    ).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);

    await victim.restart();
    await retryUntilResolved(
      () => publisher.messages.append({ topic, payload: { back: true }, metadata: {} }),
      15_000,
    );
    await eventually(() => resyncs > 0, 5000);
    const late = await publisher.messages.append({ topic, payload: { late: true }, metadata: {} });
    await eventually(() => received.some((m) => m.id === late.id), 5000);
  }, 30_000);
});

/** Port of the master serving each slot. */
async function slotOwners(cluster: ValkeyCluster): Promise<(slot: number) => number | undefined> {
  const raw = new Redis({ host: cluster.nodes[0].host, port: cluster.nodes[0].port });
  try {
    const ranges = (await raw.call('CLUSTER', 'SLOTS')) as Array<
      [number, number, [string, number]]
    >;
    return (slot) => ranges.find(([lo, hi]) => lo <= slot && slot <= hi)?.[2][1];
  } finally {
    raw.disconnect();
  }
}

function topicServedBy(
  port: number,
  keys: ValkeyKeys,
  owner: (slot: number) => number | undefined,
): string {
  for (let i = 0; ; i++) {
    const topic = `victim-${i}`;
    if (owner(keySlot(keys.stream(topic))) === port) return topic;
  }
}
