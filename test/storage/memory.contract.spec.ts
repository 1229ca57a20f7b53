import { describeStorageContract } from './storage-contract';
import { openStorage } from './storage-instance';

describeStorageContract('memory', {
  open: (_scope, overrides = {}) => openStorage({ 'storage.backend': 'memory', ...overrides }),
  // One process holds the whole memory backend: its "other instance" is itself.
  openPeer: async (_scope, of) => of,
});
