import { compareMessageIds } from '../../common/message-id';
import { MessageStore } from '../../storage/ports';
import { Consumer, FanoutListener } from '../consumer';
import { OutboundMessage } from '../outbound-message';

/** What a subscription needs from its socket. */
export interface SubscriptionSink {
  readonly consumer: Consumer;
  /** False when the socket can no longer send. */
  send(message: OutboundMessage): boolean;
  /** The socket's send buffer is filling up: replay should wait before sending more. */
  congested(): boolean;
  waitForDrain(): Promise<void>;
  /** Counts messages sent outside the fan-out's own counting (replayed or drained). */
  delivered(topic: string, count: number): void;
  replayLimitReached(subscription: TopicSubscription): void;
  failed(subscription: TopicSubscription, error: unknown): void;
}

export interface SubscriptionOptions {
  replayMax: number;
  pageSize: number;
  /** Live messages held while replaying; beyond it they are dropped and re-read from the store. */
  bufferMax: number;
}

type Phase = 'buffering' | 'replaying' | 'live' | 'closed';

/**
 * One (socket, topic) pair. It is registered with the fan-out *before* anything is read from the
 * store; live messages are buffered while the store is read, then drained skipping every id at
 * or below the last one delivered. So replay turns into live without gap or duplicate, whatever
 * is published meanwhile. `lastId` is the last id delivered to the socket (or the start cursor).
 */
export class TopicSubscription implements FanoutListener {
  lastId: string | null = null;
  private phase: Phase = 'buffering';
  private buffer: OutboundMessage[] = [];
  /** Set when buffered messages were dropped or the bus lost some: read the store again. */
  private reread = false;

  constructor(
    readonly topic: string,
    private readonly sink: SubscriptionSink,
    private readonly store: MessageStore,
    private readonly options: SubscriptionOptions,
  ) {}

  get consumer(): Consumer {
    return this.sink.consumer;
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  onMessage(message: OutboundMessage): boolean {
    switch (this.phase) {
      case 'live':
        return this.deliver(message);
      case 'buffering':
      case 'replaying':
        if (this.buffer.length >= this.options.bufferMax) {
          this.buffer = [];
          this.reread = true;
        }
        this.buffer.push(message);
        return false;
      default:
        return false;
    }
  }

  onResync(): void {
    if (this.phase === 'live') void this.replay();
    else if (this.phase !== 'closed') this.reread = true;
  }

  /**
   * Starts delivering: replays from the store after `lastId` when `replay` is set (or when the
   * bus lost messages meanwhile), otherwise drains the buffer and goes live.
   */
  start(replay: boolean): void {
    if (this.phase !== 'buffering') return;
    if (replay || this.reread) void this.replay();
    else this.goLive();
  }

  close(): void {
    this.phase = 'closed';
    this.buffer = [];
  }

  private async replay(): Promise<void> {
    this.phase = 'replaying';
    let replayed = 0;
    try {
      for (;;) {
        this.reread = false;
        const page = await this.store.readAfter(this.topic, this.lastId, this.options.pageSize);
        let sent = 0;
        for (const stored of page) {
          if (this.closed) return;
          if (replayed >= this.options.replayMax) {
            this.sink.delivered(this.topic, sent);
            this.sink.replayLimitReached(this);
            return;
          }
          if (!this.deliver(new OutboundMessage(stored))) continue;
          sent++;
          replayed++;
          if (this.sink.congested()) await this.sink.waitForDrain();
        }
        this.sink.delivered(this.topic, sent);
        if (this.closed) return;
        if (page.length < this.options.pageSize && !this.reread) break;
      }
      this.goLive();
    } catch (error) {
      if (!this.closed) this.sink.failed(this, error);
    }
  }

  private goLive(): void {
    if (this.closed) return;
    const buffered = this.buffer;
    this.buffer = [];
    this.phase = 'live';
    let sent = 0;
    for (const message of buffered) if (this.deliver(message)) sent++;
    this.sink.delivered(this.topic, sent);
  }

  private deliver(message: OutboundMessage): boolean {
    if (this.lastId !== null && compareMessageIds(message.id, this.lastId) <= 0) return false;
    if (message.isExpired(Date.now())) return false;
    if (!this.sink.send(message)) return false;
    this.lastId = message.id;
    return true;
  }
}
