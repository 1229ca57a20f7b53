import { compareMessageIds, firstIndexAfter, messageIdTime } from '../../common/message-id';
import { StoredMessage } from '../ports';

export const STREAM_START = '0-0';

/**
 * The newest messages of one topic, contiguous: every message of the stream with an id greater
 * than `completeAfter` is held, up to the newest one delivered. Dropping the oldest message moves
 * `completeAfter` up to it, so the claim stays true.
 */
export class TopicWindow {
  private messages: StoredMessage[] = [];
  private head = 0;
  /** False while the window is being seeded: it then holds only what the bus delivered. */
  private seeded = false;

  constructor(
    /** The bus continuity token the window was built under. */
    readonly token: number,
    private completeAfter: string,
  ) {}

  get size(): number {
    return this.messages.length - this.head;
  }

  /** True when every message after `afterId` (null = the start of the stream) is held. */
  covers(afterId: string | null): boolean {
    return this.seeded && compareMessageIds(afterId ?? STREAM_START, this.completeAfter) >= 0;
  }

  /** Adds a message newer than all held ones; older ones are duplicates and ignored. */
  push(message: StoredMessage): void {
    const newest = this.messages[this.messages.length - 1];
    if (this.size > 0 && compareMessageIds(message.id, newest.id) <= 0) return;
    this.messages.push(message);
  }

  /**
   * Completes seeding with a store read that reached the end of the stream: together with the
   * messages delivered meanwhile it holds everything after `completeAfter`.
   */
  seed(read: StoredMessage[]): void {
    const delivered = this.messages.slice(this.head);
    const merged: StoredMessage[] = [];
    let i = 0;
    let j = 0;
    while (i < read.length || j < delivered.length) {
      const order =
        i === read.length
          ? 1
          : j === delivered.length
            ? -1
            : compareMessageIds(read[i].id, delivered[j].id);
      const next = order <= 0 ? read[i] : delivered[j];
      if (order <= 0) i++;
      if (order >= 0) j++;
      if (compareMessageIds(next.id, this.completeAfter) > 0) merged.push(next);
    }
    this.messages = merged;
    this.head = 0;
    this.seeded = true;
  }

  /** Up to `limit` held messages after `afterId` that pass `keep`, oldest first. */
  after(
    afterId: string | null,
    limit: number,
    keep: (m: StoredMessage) => boolean,
  ): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (let i = this.firstAfter(afterId ?? STREAM_START); i < this.messages.length; i++) {
      if (out.length >= limit) break;
      if (keep(this.messages[i])) out.push(this.messages[i]);
    }
    return out;
  }

  /** Drops the oldest messages beyond `maxSize` or older than `minTime` (epoch ms). */
  trim(maxSize: number, minTime: number): number {
    let dropped = 0;
    while (
      this.size > 0 &&
      (this.size > maxSize || messageIdTime(this.messages[this.head].id) < minTime)
    ) {
      this.completeAfter = this.messages[this.head].id;
      this.head++;
      dropped++;
    }
    if (this.head > 64 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
    return dropped;
  }

  private firstAfter(id: string): number {
    return firstIndexAfter(this.messages, this.head, id);
  }
}
