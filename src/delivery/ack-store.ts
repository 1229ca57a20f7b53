import { Injectable } from '@nestjs/common';
import { compareMessageIds, normalizeMessageId } from '../common/message-id';
import { RelayConfig } from '../config/relay-config';
import { KeyValueStore } from '../storage/ports';

const DEFAULT_ACK_TTL_SECONDS = 30 * 86400;

/**
 * Acknowledged offsets per (user, client_id, topic). An ack lives as long as messages are
 * retained: past that, everything it pointed before is gone anyway.
 */
@Injectable()
export class AckStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly kv: KeyValueStore,
    config: RelayConfig,
  ) {
    const retention = config.storage.persistentTierRetention;
    this.ttlSeconds = retention > 0 ? Math.ceil(retention) : DEFAULT_ACK_TTL_SECONDS;
  }

  async get(userId: string, clientId: string, topic: string): Promise<string | null> {
    return normalizeMessageId(await this.kv.get(key(userId, clientId, topic)));
  }

  set(userId: string, clientId: string, topic: string, messageId: string): Promise<void> {
    return this.kv.set(key(userId, clientId, topic), messageId, this.ttlSeconds);
  }
}

function key(userId: string, clientId: string, topic: string): string {
  return `ack:${userId}:${clientId}:${topic}`;
}

/**
 * Writes one subscription's acks: only forward, at most one write in flight, the newest pending
 * id written next (a client acking every message costs far fewer writes).
 */
export class AckWriter {
  private written: string | null = null;
  private pending: string | null = null;
  private inFlight = false;

  constructor(private readonly write: (messageId: string) => Promise<void>) {}

  ack(messageId: string): void {
    const newest = this.pending ?? this.written;
    if (newest !== null && compareMessageIds(messageId, newest) <= 0) return;
    this.pending = messageId;
    if (!this.inFlight) this.flush();
  }

  private flush(): void {
    const id = this.pending;
    if (id === null) return;
    this.pending = null;
    this.inFlight = true;
    this.write(id)
      .then(
        () => {
          if (this.written === null || compareMessageIds(id, this.written) > 0) this.written = id;
        },
        () => {
          // Retried with the next ack; an ack is a hint, never worth failing the session.
        },
      )
      .finally(() => {
        this.inFlight = false;
        this.flush();
      })
      .catch(() => undefined);
  }
}
