/**
 * Small shared state with expiry: idempotency records, acknowledged offsets, rate-limit counters.
 * Keys are logical names chosen by services (`idem:<user>:<key>`); drivers add their own prefix.
 */
export abstract class KeyValueStore {
  /** Sets when absent; true when this call set it. */
  abstract setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  abstract get(key: string): Promise<string | null>;
  /** ttlSeconds 0 = no expiry. */
  abstract set(key: string, value: string, ttlSeconds: number): Promise<void>;
  abstract delete(key: string): Promise<void>;
  /** Increments a counter that expires `windowSeconds` after its first increment; returns value and ms to expiry. */
  abstract increment(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }>;
}
