/**
 * The Valkey key layout. Every key starts with the configured prefix; every key of one topic
 * (and its pub/sub channel) shares the hash tag `{<topic>}`, and every per-user or per-token key
 * its own tag, so that each script touches a single cluster slot.
 */
export class ValkeyKeys {
  constructor(readonly prefix: string) {}

  /** Stream of a topic's messages. */
  stream(topic: string): string {
    return `${this.prefix}t:{${topic}}:stream`;
  }

  /** String with TTL: the id of the message appended with an idempotency marker. */
  idempotencyMarker(topic: string, marker: string): string {
    return `${this.prefix}t:{${topic}}:idem:${marker}`;
  }

  /**
   * Sorted set: the topic's marker keys scored by expiry (epoch ms), so that deleting the topic
   * finds them; expired members are dropped by later appends.
   */
  idempotencyMarkers(topic: string): string {
    return `${this.prefix}t:{${topic}}:idem`;
  }

  /** Hash: the topic record. */
  topicMeta(topic: string): string {
    return `${this.prefix}t:{${topic}}:meta`;
  }

  /** Hash: userId → JSON grant. */
  topicGrants(topic: string): string {
    return `${this.prefix}t:{${topic}}:grants`;
  }

  /** Pub/sub channel announcing a topic's messages. */
  topicChannel(topic: string): string {
    return `${this.prefix}t:{${topic}}:bus`;
  }

  /** Hash: topic name → topic id, the list of all topics. */
  topicIndex(): string {
    return `${this.prefix}topics`;
  }

  /** Hash: the user record, keyed by username so that creation is one atomic step. */
  user(username: string): string {
    return `${this.prefix}u:{${username}}`;
  }

  /** Hash: userId → username, for lookups by id and the list of all users. */
  userIndex(): string {
    return `${this.prefix}users`;
  }

  /** Hash: a refresh-token record. */
  refreshToken(jti: string): string {
    return `${this.prefix}rt:{${jti}}`;
  }

  /** Set: a user's refresh-token ids. */
  userRefreshTokens(userId: string): string {
    return `${this.prefix}rtu:{${userId}}`;
  }

  /** String with TTL: a deny-listed access-token id. */
  deniedAccessToken(jti: string): string {
    return `${this.prefix}deny:{${jti}}`;
  }

  /** A `KeyValueStore` entry. */
  kv(key: string): string {
    return `${this.prefix}kv:${key}`;
  }

  /** Pub/sub channel of control events. */
  controlChannel(): string {
    return `${this.prefix}{control}`;
  }
}
