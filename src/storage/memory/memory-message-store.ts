import { compareMessageIds, messageIdTime } from '../../common/message-id';
import { MessageStore, NewMessage, StoredMessage } from '../ports';
import { MemoryMessageBus } from './memory-message-bus';

export interface MemoryRetention {
  maxMessagesPerTopic: number;
  /** Seconds; 0 = no age limit. */
  maxAgeSeconds: number;
}

class TopicLog {
  /** messages[head..] are live; the prefix is dropped lazily to keep trimming O(1). */
  messages: StoredMessage[] = [];
  head = 0;
  lastMs = 0;
  lastSeq = 0;

  get size(): number {
    return this.messages.length - this.head;
  }

  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
  }

  /** Index of the first live message with id > `id`. */
  firstAfter(id: string): number {
    let lo = this.head;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareMessageIds(this.messages[mid].id, id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The embedded driver: ordered `<ms>-<seq>` ids, TTL, retention by count and age. */
export class MemoryMessageStore extends MessageStore {
  private readonly logs = new Map<string, TopicLog>();

  constructor(
    private readonly bus: MemoryMessageBus,
    private readonly retention: MemoryRetention,
    private readonly clock: () => number = Date.now,
  ) {
    super();
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
    if (beforeId !== null) {
      // first index with id >= beforeId, minus one
      let lo = log.head;
      let hi = log.messages.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareMessageIds(log.messages[mid].id, beforeId) < 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
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
      timestamp: new Date(log.lastMs).toISOString(),
      expiresAt: input.ttl ? log.lastMs + input.ttl * 1000 : null,
    };
    log.messages.push(message);
    while (log.size > this.retention.maxMessagesPerTopic) log.head++;
    this.trimByAge(log);
    log.compact();
    this.bus.dispatch(message);
    return message;
  }

  private trimByAge(log: TopicLog): void {
    if (this.retention.maxAgeSeconds <= 0) return;
    const cutoff = this.clock() - this.retention.maxAgeSeconds * 1000;
    while (log.head < log.messages.length && messageIdTime(log.messages[log.head].id) < cutoff) {
      log.head++;
    }
  }
}
