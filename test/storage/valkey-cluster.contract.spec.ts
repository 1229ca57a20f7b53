import { Redis } from 'ioredis';
import { keySlot } from '../../src/storage/valkey/key-slot';
import { ValkeyKeys } from '../../src/storage/valkey/valkey-keys';
import { startValkeyCluster, ValkeyCluster } from '../support/valkey-server';
import { describeStorageContract } from './storage-contract';
import { openStorage, unique } from './storage-instance';
import { writeOneOfEverything } from './valkey-layout';

let cluster: ValkeyCluster;

beforeAll(async () => {
  cluster = await startValkeyCluster(3);
});

afterAll(async () => {
  await cluster?.stop();
});

const open = (scope: string, overrides: Record<string, unknown> = {}) =>
  openStorage({
    'storage.backend': 'valkey',
    'valkey.cluster_nodes': cluster.seeds,
    'valkey.key_prefix': `${scope}:`,
    ...overrides,
  });

describeStorageContract('valkey (3-master cluster)', {
  open,
  openPeer: (scope) => open(scope),
});

describe('valkey cluster layout', () => {
  it('keeps each topic in one slot, computed as the server computes it, spread over all shards', async () => {
    const sut = await open(unique('slots'));
    const raw = new Redis({
      host: cluster.nodes[0].host,
      port: cluster.nodes[0].port,
      lazyConnect: true,
    });
    try {
      const keys = new ValkeyKeys(sut.config.valkey.keyPrefix);
      const ranges = (await raw.call('CLUSTER', 'SLOTS')) as Array<
        [number, number, [string, number]]
      >;
      const ownerOf = (slot: number): number =>
        ranges.find(([lo, hi]) => lo <= slot && slot <= hi)![2][1];
      const topics = Array.from({ length: 30 }, (_, i) => `topic-${i}`);
      for (const topic of topics) {
        const slots = [
          keys.stream(topic),
          keys.topicMeta(topic),
          keys.topicGrants(topic),
          keys.topicChannel(topic),
        ].map(keySlot);
        expect(new Set(slots).size).toBe(1);
        expect(await raw.call('CLUSTER', 'KEYSLOT', keys.stream(topic))).toBe(slots[0]);
      }
      expect(new Set(topics.map((topic) => ownerOf(keySlot(keys.stream(topic))))).size).toBe(3);
      // Every single-slot script runs on a cluster (a cross-slot one would fail here).
      await writeOneOfEverything(sut);
    } finally {
      raw.disconnect();
      await sut.close();
    }
  });
});
