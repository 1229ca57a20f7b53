import { MessageStore, NewMessage, StoredMessage } from '../ports';
import { MessageFeed } from './message-feed';
import { STREAM_START, TopicWindow } from './topic-window';

export interface HotTierOptions {
  /** Newest messages kept per topic. */
  maxMessagesPerTopic: number;
  /** Seconds a message stays in memory. */
  maxAgeSeconds: number;
  /** Messages kept over all topics; least recently used topics are dropped first. */
  maxTotalMessages: number;
  /** Seconds after which the store no longer returns a message (0 = no limit). */
  storeRetentionSeconds: number;
}

/**
 * An in-memory window of each followed topic's newest messages in front of a `MessageStore`.
 * It serves `readAfter` only when the window provably holds everything after the id: the window
 * is fed by the bus, which delivers every message of a subscribed topic in order (this
 * instance's appends included), and is dropped whenever that delivery may have had a gap (the
 * feed's continuity token changed). Everything else falls through to the store.
 *
 * Appends are deliberately not fed from their own replies: another instance's older message may
 * still be in flight on the bus, and a reader served from the window meanwhile would skip it.
 */
export class HotTierMessageStore extends MessageStore {
  /** In least-recently-used order. */
  private readonly windows = new Map<string, TopicWindow>();
  private total = 0;

  constructor(
    private readonly inner: MessageStore,
    private readonly feed: MessageFeed,
    private readonly options: HotTierOptions,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    feed.onMessage((message) => this.observe(message));
  }

  append(message: NewMessage): Promise<StoredMessage> {
    return this.inner.append(message);
  }

  appendMany(messages: NewMessage[]): Promise<Array<StoredMessage | Error>> {
    return this.inner.appendMany(messages);
  }

  async readAfter(topic: string, afterId: string | null, limit: number): Promise<StoredMessage[]> {
    const token = this.feed.continuityToken(topic);
    const window = this.current(topic, token);
    if (window?.covers(afterId)) {
      this.resize(window, () => window.trim(this.options.maxMessagesPerTopic, this.minTime()));
      this.touch(topic, window);
      const now = this.clock();
      return window.after(afterId, limit, (m) => m.expiresAt === null || m.expiresAt > now);
    }
    if (token === null || window) return this.inner.readAfter(topic, afterId, limit);
    return this.readAndSeed(topic, afterId, limit, token);
  }

  readBefore(topic: string, beforeId: string | null, limit: number): Promise<StoredMessage[]> {
    return this.inner.readBefore(topic, beforeId, limit);
  }

  lastId(topic: string): Promise<string | null> {
    return this.inner.lastId(topic);
  }

  count(topic: string): Promise<number> {
    return this.inner.count(topic);
  }

  findMarker(topic: string, marker: string): Promise<string | null> {
    return this.inner.findMarker(topic, marker);
  }

  async deleteTopic(topic: string): Promise<void> {
    this.forget(topic);
    await this.inner.deleteTopic(topic);
  }

  /** Messages held over all topics. */
  get size(): number {
    return this.total;
  }

  private async readAndSeed(
    topic: string,
    afterId: string | null,
    limit: number,
    token: number,
  ): Promise<StoredMessage[]> {
    const window = new TopicWindow(token, afterId ?? STREAM_START);
    this.windows.set(topic, window);
    let read: StoredMessage[];
    try {
      read = await this.inner.readAfter(topic, afterId, limit);
    } catch (err) {
      if (this.windows.get(topic) === window) this.forget(topic);
      throw err;
    }
    if (this.windows.get(topic) !== window) return read;
    // A read cut by `limit` leaves a gap between it and what the bus delivered.
    if (read.length >= limit || this.feed.continuityToken(topic) !== token) {
      this.forget(topic);
      return read;
    }
    this.resize(window, () => {
      window.seed(read);
      window.trim(this.options.maxMessagesPerTopic, this.minTime());
    });
    this.touch(topic, window);
    this.enforceBudget();
    return read;
  }

  private observe(message: StoredMessage): void {
    const window = this.current(message.topic, this.feed.continuityToken(message.topic));
    if (!window) return;
    this.resize(window, () => {
      window.push(message);
      window.trim(this.options.maxMessagesPerTopic, this.minTime());
    });
    this.enforceBudget();
  }

  /** The topic's window if it is still continuous; a stale one is dropped. */
  private current(topic: string, token: number | null): TopicWindow | undefined {
    const window = this.windows.get(topic);
    if (window && window.token !== token) {
      this.forget(topic);
      return undefined;
    }
    return window;
  }

  private minTime(): number {
    const { maxAgeSeconds, storeRetentionSeconds } = this.options;
    const maxAge =
      storeRetentionSeconds > 0 ? Math.min(maxAgeSeconds, storeRetentionSeconds) : maxAgeSeconds;
    return this.clock() - maxAge * 1000;
  }

  private resize(window: TopicWindow, change: () => void): void {
    const before = window.size;
    change();
    this.total += window.size - before;
  }

  private touch(topic: string, window: TopicWindow): void {
    this.windows.delete(topic);
    this.windows.set(topic, window);
  }

  private forget(topic: string): void {
    const window = this.windows.get(topic);
    if (!window) return;
    this.total -= window.size;
    this.windows.delete(topic);
  }

  private enforceBudget(): void {
    for (const topic of this.windows.keys()) {
      if (this.total <= this.options.maxTotalMessages) return;
      this.forget(topic);
    }
  }
}
