import { firstIndexAfter, isoTime, messageIdTime } from '../../common/message-id';
import { idempotencyMarkerTtlSeconds, MessageStore, NewMessage, StoredMessage } from '../ports';
import { MemoryMessageBus } from './memory-message-bus';

export interface MemoryRetention {
  maxMessagesPerTopic: number;
  /** Seconds; 0 = no age limit. */
  maxAgeSeconds: number;
  /** `storage.idempotency_window` (seconds; default 600), which bounds idempotency markers. */
  idempotencyWindowSeconds?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW_SECONDS = 600;

interface MarkerEntry {
  id: string;
  expiresAt: number;
}

class TopicLog {
  /** messages[head..] are live; the prefix is dropped lazily to keep trimming O(1). */
  messages: StoredMessage[] = [];
  head = 0;
  lastMs = 0;
  lastSeq = 0;
  /** Idempotency marker → message id, in insertion (so expiry) order; pruned on use. */
  readonly markers = new Map<string, MarkerEntry>();

  get size(): number {
    return this.messages.length - this.head;
  }

  /** The marker's id when it has not expired. */
  marker(marker: string, now: number): string | null {
    const entry = this.markers.get(marker);
    return entry && entry.expiresAt > now ? entry.id : null;
  }

  /** Drops expired markers from the oldest on (they expire in insertion order). */
  pruneMarkers(now: number): void {
    for (const [marker, entry] of this.markers) {
      if (entry.expiresAt > now) return;
      this.markers.delete(marker);
    }
  }

  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the first live message with id > `id`. */
  firstAfter(id: string): number {
    return firstIndexAfter(this.messages, this.head, id);
  }
}

/** The embedded driver: ordered `<ms>-<seq>` ids, TTL, retention by count and age. */
export class MemoryMessageStore extends MessageStore {
  private readonly logs = new Map<string, TopicLog>();
  private readonly markerTtlMs: number;

  constructor(
    private readonly bus: MemoryMessageBus,
    private readonly retention: MemoryRetention,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    this.markerTtlMs =
      idempotencyMarkerTtlSeconds(
        retention.idempotencyWindowSeconds ?? DEFAULT_IDEMPOTENCY_WINDOW_SECONDS,
      ) * 1000;
  }

  async append(input: NewMessage): Promise<StoredMessage> {
    return this.appendSync(input);
  }

  async appendMany(inputs: NewMessage[]): Promise<Array<StoredMessage | Error>> {
    return inputs.map((input) => this.appendSync(input));
  }

  async readAfter(topic: string, afterId: string | null, limit: number): Promise<StoredMessage[]> {
    const log = this.logs.get(topic);
    if (!log) return [];
    this.trimByAge(log);
    const now = this.clock();
    const out: StoredMessage[] = [];
    for (
      let i = afterId === null ? log.head : log.firstAfter(afterId);
      i < log.messages.length;
      i++
    ) {
      const message = log.messages[i];
      if (message.expiresAt !== null && message.expiresAt <= now) continue;
      out.push(message);
      if (out.length >= limit) break;
    }
    return out;
  }

  async readBefore(
    topic: string,
    beforeId: string | null,
    limit: number,
  ): Promise<StoredMessage[]> {
    const log = this.logs.get(topic);
    if (!log) return [];
    this.trimByAge(log);
    const now = this.clock();
    const out: StoredMessage[] = [];
    let i = log.messages.length - 1;
    if (beforeId !== null) i = firstIndexAfter(log.messages, log.head, beforeId, true) - 1;
    for (; i >= log.head; i--) {
      const message = log.messages[i];
      if (message.expiresAt !== null && message.expiresAt <= now) continue;
      out.push(message);
      if (out.length >= limit) break;
    }
    return out;
  }

  async lastId(topic: string): Promise<string | null> {
    const log = this.logs.get(topic);
    if (!log || log.lastMs === 0) return null;
    return `${log.lastMs}-${log.lastSeq}`;
  }

  async count(topic: string): Promise<number> {
    const log = this.logs.get(topic);
    if (!log) return 0;
    this.trimByAge(log);
    return log.size;
  }

  async findMarker(topic: string, marker: string): Promise<string | null> {
    const log = this.logs.get(topic);
    if (!log) return null;
    const now = this.clock();
    log.pruneMarkers(now);
    return log.marker(marker, now);
  }

  /** Forgets the stream and its idempotency markers. */
  async deleteTopic(topic: string): Promise<void> {
    this.logs.delete(topic);
  }

  /** Total retained messages over all topics (for stats). */
  totalCount(): number {
    let total = 0;
    for (const log of this.logs.values()) total += log.size;
    return total;
  }

  private appendSync(input: NewMessage): StoredMessage {
    let log = this.logs.get(input.topic);
    if (!log) this.logs.set(input.topic, (log = new TopicLog()));
    const now = this.clock();
    const marker = this.markerTtlMs > 0 ? input.idempotencyMarker : undefined;
    if (marker !== undefined) {
      log.pruneMarkers(now);
      const earlier = log.marker(marker, now);
      if (earlier !== null) return this.replayed(input, earlier);
    }
    if (now > log.lastMs) {
      log.lastMs = now;
      log.lastSeq = 0;
    } else {
      log.lastSeq += 1;
    }
    const message: StoredMessage = {
      id: `${log.lastMs}-${log.lastSeq}`,
      topic: input.topic,
      payload: input.payload,
      metadata: input.metadata,
      timestamp: isoTime(log.lastMs),
      expiresAt: input.ttl ? log.lastMs + input.ttl * 1000 : null,
    };
    log.messages.push(message);
    if (marker !== undefined) {
      // Re-inserted at the end, so that the map stays in expiry order.
      log.markers.delete(marker);
      log.markers.set(marker, { id: message.id, expiresAt: now + this.markerTtlMs });
    }
    while (log.size > this.retention.maxMessagesPerTopic) log.head++;
    this.trimByAge(log);
    log.compact();
    this.bus.dispatch(message);
    return message;
  }

  /** What a repeated marked append answers: the earlier id, nothing stored or announced. */
  private replayed(input: NewMessage, id: string): StoredMessage {
    const ms = messageIdTime(id);
    return {
      id,
      topic: input.topic,
      payload: input.payload,
      metadata: input.metadata,
      timestamp: isoTime(ms),
      expiresAt: input.ttl ? ms + input.ttl * 1000 : null,
    };
  }

  private trimByAge(log: TopicLog): void {
    if (this.retention.maxAgeSeconds <= 0) return;
    const cutoff = this.clock() - this.retention.maxAgeSeconds * 1000;
    while (log.head < log.messages.length && messageIdTime(log.messages[log.head].id) < cutoff) {
      log.head++;
    }
  }
}
