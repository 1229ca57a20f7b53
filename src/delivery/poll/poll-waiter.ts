import { AuthUser } from '../../auth/auth-user';
import { TopicNotFoundError, UnauthenticatedError } from '../../common/errors';
import { compareMessageIds } from '../../common/message-id';
import { StoredMessage } from '../../storage/ports';
import { AccessCheck } from '../access-check';
import { Consumer, FanoutListener } from '../consumer';
import { OutboundMessage, toPollItem } from '../outbound-message';
import { PollItemDto, PollResponseDto } from './dto/poll-response.dto';

interface Collected {
  message: StoredMessage;
  /** Delivered live (counted in the latency metric). */
  live: boolean;
  /** The fan-out's wrapper when the message came through it: its answer is serialised once. */
  outbound: OutboundMessage | null;
}

/** `{"messages":[],"has_more":false}`: the answer of a poll that timed out or was drained empty. */
const EMPTY_BODY = Buffer.from(JSON.stringify({ messages: [], has_more: false }));

/**
 * One topic of a waiting poll. Registered with the fan-out before the catch-up read; live
 * messages that arrive during the read wait in `pending` and are merged after it by id.
 */
export class PollLane implements FanoutListener {
  readonly items: Collected[] = [];
  /** Last id collected (or `since`); only later ids are taken. */
  cursor: string | null;
  /** Newest id when the poll started (topics without `since`): where a resync reads from. */
  baseline: string | null = null;
  /** More was pending than one page holds. */
  truncated = false;
  private pending: OutboundMessage[] | null;

  constructor(
    readonly topic: string,
    readonly since: string | null,
    private readonly waiter: PollWaiter,
  ) {
    this.cursor = since;
    this.pending = since === null ? null : [];
  }

  get consumer(): Consumer {
    return this.waiter;
  }

  onMessage(message: OutboundMessage): boolean {
    if (this.waiter.finished) return false;
    if (this.pending) {
      if (this.pending.length > this.waiter.batchSize) this.truncated = true;
      else this.pending.push(message);
      return false;
    }
    return this.take(message.message, true, message);
  }

  onResync(): void {
    this.waiter.resync(this);
  }

  /** Merges the catch-up read (up to batchSize + 1 messages after `since`) with what arrived live. */
  caughtUp(stored: StoredMessage[]): void {
    for (const message of stored.slice(0, this.waiter.batchSize)) this.take(message, false);
    if (stored.length > this.waiter.batchSize) this.truncated = true;
    const pending = this.pending ?? [];
    this.pending = null;
    if (this.truncated) return; // the client comes back with `since` for the rest
    for (const message of pending) {
      if (!message.isExpired(Date.now())) this.take(message.message, false, message);
    }
  }

  take(message: StoredMessage, live: boolean, outbound: OutboundMessage | null = null): boolean {
    if (this.cursor !== null && compareMessageIds(message.id, this.cursor) <= 0) return false;
    if (this.items.length >= this.waiter.batchSize) {
      this.truncated = true;
      return false;
    }
    this.items.push({ message, live, outbound });
    this.cursor = message.id;
    if (live) this.waiter.notify();
    return true;
  }
}

type State = 'preparing' | 'waiting' | 'finished';

/**
 * Waiters woken by a live message, answered together on the next turn of the event loop: one
 * immediate for every waiter that a publish (or a burst published together) releases.
 */
let wakeQueue: PollWaiter[] = [];
let wakeScheduled = false;

function wakeQueued(): void {
  const due = wakeQueue;
  wakeQueue = [];
  wakeScheduled = false;
  for (const waiter of due) waiter.finish();
}

function expire(waiter: PollWaiter): void {
  waiter.finish();
}

/**
 * A long-poll request while it waits. It answers at the first live message (plus whatever
 * arrives in the same tick), at its timeout, when the client goes away, at shutdown, or fails
 * when a control event takes its access away.
 */
export class PollWaiter implements Consumer {
  readonly kind = 'poll' as const;
  readonly lanes: PollLane[];
  private state: State = 'preparing';
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private woken = false;
  private gone = false;

  constructor(
    private currentUser: AuthUser,
    topics: string[],
    since: ReadonlyMap<string, string>,
    readonly batchSize: number,
    private readonly access: AccessCheck,
    private readonly resyncLane: (lane: PollLane) => Promise<void>,
  ) {
    this.lanes = topics.map((topic) => new PollLane(topic, since.get(topic) ?? null, this));
  }

  get user(): AuthUser {
    return this.currentUser;
  }

  get finished(): boolean {
    return this.state === 'finished';
  }

  /** The client went away before its answer: there is nobody to answer. */
  get abandoned(): boolean {
    return this.gone;
  }

  hasItems(): boolean {
    return this.lanes.some((lane) => lane.items.length > 0);
  }

  /** Waits for the first live message, unless something is already collected or it ended. */
  wait(timeoutMs: number): Promise<void> {
    if (this.state !== 'preparing') return Promise.resolve();
    if (this.hasItems()) {
      this.finish();
      return Promise.resolve();
    }
    this.state = 'waiting';
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(expire, timeoutMs, this);
    });
  }

  notify(): void {
    if (this.state !== 'waiting' || this.woken) return;
    // Answer on the next turn so that a burst published together is returned together.
    this.woken = true;
    wakeQueue.push(this);
    if (!wakeScheduled) {
      wakeScheduled = true;
      setImmediate(wakeQueued);
    }
  }

  finish(): void {
    if (this.state === 'finished') return;
    this.state = 'finished';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    this.wake = null;
  }

  /** The client closed its connection before the answer. */
  abandon(): void {
    if (this.state === 'finished') return;
    this.gone = true;
    this.finish();
  }

  fail(error: unknown): void {
    if (this.state === 'finished') return;
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.finish();
  }

  /** The answer; throws the failure when access was lost while waiting. */
  response(): PollResponseDto {
    if (this.failure !== null) throw this.failure;
    const messages: PollItemDto[] = [];
    for (const lane of this.lanes) {
      for (const { message } of lane.items) messages.push(toPollItem(message));
    }
    return { messages, has_more: this.lanes.some((lane) => lane.truncated) };
  }

  /**
   * The answer serialised as `JSON.stringify(response())` would; throws like `response()`. The
   * common answers share their bytes: one message that came through the fan-out (serialised once
   * for every poll it releases), and the empty answer.
   */
  body(): Buffer {
    if (this.failure !== null) throw this.failure;
    let sole: Collected | null = null;
    let count = 0;
    for (const lane of this.lanes) {
      if (lane.truncated) return Buffer.from(JSON.stringify(this.response()));
      count += lane.items.length;
      if (lane.items.length > 0) sole = lane.items[0];
    }
    if (count === 0) return EMPTY_BODY;
    if (count === 1 && sole?.outbound) return sole.outbound.pollBody();
    return Buffer.from(JSON.stringify(this.response()));
  }

  resync(lane: PollLane): void {
    if (this.state === 'finished') return;
    this.resyncLane(lane).catch((error: unknown) => this.fail(error));
  }

  // ---- Consumer: control events -------------------------------------------------------------

  topicDeleted(topic: string): void {
    this.fail(new TopicNotFoundError(topic));
  }

  topicAccessChanged(topic: string): void {
    void this.recheck([topic]);
  }

  userChanged(): void {
    void this.refreshUser();
  }

  tokenRevoked(jti: string): void {
    if (this.currentUser.jti === jti) {
      this.fail(new UnauthenticatedError('Token has been revoked', 'TOKEN_REVOKED'));
    }
  }

  private async refreshUser(): Promise<void> {
    try {
      this.currentUser = await this.access.refreshUser(this.currentUser);
    } catch (error) {
      this.fail(error);
      return;
    }
    await this.recheck(this.lanes.map((lane) => lane.topic));
  }

  private async recheck(topics: string[]): Promise<void> {
    try {
      for (const topic of topics) {
        if (!(await this.access.canRead(this.currentUser, topic))) {
          this.fail(new TopicNotFoundError(topic));
          return;
        }
      }
    } catch (error) {
      this.fail(error); // fail closed
    }
  }
}

/** Ids of the live-delivered items (for the latency metric). */
export function liveItems(waiter: PollWaiter): StoredMessage[] {
  return waiter.lanes.flatMap((lane) => lane.items.filter((i) => i.live).map((i) => i.message));
}
