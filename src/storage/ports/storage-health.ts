/** Reachability of the storage backend, for `/ready` and fast 503s. */
export abstract class StorageHealth {
  abstract readonly backend: 'memory' | 'valkey';
  /** Round trip to the backend; throws when unreachable. */
  abstract ping(): Promise<void>;
}
