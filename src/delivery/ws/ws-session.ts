import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { AuthUser } from '../../auth/auth-user';
import { TopicNotFoundError } from '../../common/errors';
import { MessageStore } from '../../storage/ports';
import { AccessCheck, asDomainError } from '../access-check';
import { AckStore, AckWriter } from '../ack-store';
import { Consumer } from '../consumer';
import { DeliveryControl } from '../delivery-control';
import {
  InvalidFrameError,
  NotSubscribedError,
  ReplayLimitError,
  TooManyPendingFramesError,
  TooManyTopicsError,
  TopicDeletedError,
} from '../delivery-errors';
import { DeliveryMetrics } from '../delivery-metrics';
import { Fanout } from '../fanout';
import { OutboundMessage } from '../outbound-message';
import { HeldWriter, SendBatch } from '../send-batch';
import { toErrorFrame } from './ws-error.mapper';
import { ClientFrame, FrameLimits, parseClientFrame, SubscribeOffset } from './ws-frames';
import { SubscriptionOptions, SubscriptionSink, TopicSubscription } from './topic-subscription';

type SubscribeFrame = Extract<ClientFrame, { type: 'subscribe' }>;
type UnsubscribeFrame = Extract<ClientFrame, { type: 'unsubscribe' }>;

/** Everything a session needs, shared by all sessions of the gateway. */
export interface SessionContext {
  readonly frameLimits: FrameLimits;
  readonly maxBufferedBytes: number;
  readonly subscription: SubscriptionOptions;
  readonly store: MessageStore;
  readonly fanout: Fanout;
  readonly access: AccessCheck;
  readonly acks: AckStore;
  readonly control: DeliveryControl;
  readonly metrics: DeliveryMetrics;
  /** The fan-out's batch: frames of a tick with several messages are held and written once. */
  readonly batch: SendBatch;
  readonly logger: Logger;
}

/** subscribe/unsubscribe frames waiting their turn; beyond it the client is told to slow down. */
const MAX_PENDING_FRAMES = 16;
const DRAIN_POLL_MS = 10;

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * One WebSocket connection: parses client frames, owns its topic subscriptions, and applies
 * backpressure (a socket whose send buffer passes the bound is closed with 1013).
 * subscribe/unsubscribe frames are handled one at a time, in order; ping and ack at once.
 */
export class WsSession implements Consumer, SubscriptionSink, HeldWriter {
  readonly kind = 'websocket' as const;
  readonly id = `sess_${randomBytes(6).toString('hex')}`;
  private currentUser: AuthUser;
  private clientId: string | null = null;
  private readonly subscriptions = new Map<string, TopicSubscription>();
  private readonly ackWriters = new Map<string, AckWriter>();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private alive = true;
  /** Closing or closed: nothing more is sent. */
  private ended = false;
  private disposed = false;
  private resolveClosed!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  /** Frames are being held on the corked connection until the batch ends (see `sendRaw`). */
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The connection under `ws` (the upgrade request's socket): corked while frames collect. */
    private readonly socket: Pick<Socket, 'cork' | 'uncork'>,
    user: AuthUser,
    private readonly ctx: SessionContext,
    private readonly onDisposed: (session: WsSession) => void,
  ) {
    this.currentUser = user;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (error) =>
      this.ctx.logger.debug({ err: error, session: this.id }, 'Socket error'),
    );
    ws.on('close', () => this.dispose());
  }

  get user(): AuthUser {
    return this.currentUser;
  }

  get consumer(): Consumer {
    return this;
  }

  topics(): string[] {
    return [...this.subscriptions.keys()];
  }

  /** Protocol-level liveness: a peer that did not answer the previous ping is dropped. */
  heartbeat(): void {
    if (this.disposed) return;
    if (!this.alive) {
      this.ctx.metrics.error('HEARTBEAT_TIMEOUT');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endSubscriptions();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ended = true;
    this.ws.terminate();
  }

  // ---- Consumer: control events -------------------------------------------------------------

  topicDeleted(topic: string): void {
    const subscription = this.subscriptions.get(topic);
    if (!subscription) return;
    this.drop(subscription);
    this.sendError(new TopicDeletedError(topic), topic);
  }

  topicAccessChanged(topic: string): void {
    const subscription = this.subscriptions.get(topic);
    if (subscription) void this.recheck(subscription);
  }

  userChanged(): void {
    void this.refreshUser();
  }

  tokenRevoked(jti: string): void {
    if (this.currentUser.jti === jti) {
      this.ctx.metrics.error('TOKEN_REVOKED');
      this.close(CLOSE_POLICY, 'Token has been revoked');
    }
  }

  // ---- SubscriptionSink ---------------------------------------------------------------------

  send(message: OutboundMessage): boolean {
    return this.sendRaw(message.wsFrame());
  }

  congested(): boolean {
    return this.ws.bufferedAmount > this.ctx.maxBufferedBytes / 2;
  }

  async waitForDrain(): Promise<void> {
    while (!this.ended && this.congested()) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  delivered(topic: string, count: number): void {
    this.ctx.metrics.delivered('websocket', topic, count);
  }

  replayLimitReached(subscription: TopicSubscription): void {
    this.drop(subscription);
    const limit = this.ctx.subscription.replayMax;
    this.sendError(
      new ReplayLimitError(subscription.topic, limit, subscription.lastId),
      subscription.topic,
    );
  }

  failed(subscription: TopicSubscription, error: unknown): void {
    if (this.subscriptions.get(subscription.topic) !== subscription) return;
    this.drop(subscription);
    this.sendError(error, subscription.topic);
  }

  // ---- frames -------------------------------------------------------------------------------

  private onFrame(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.ended) return;
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data, isBinary, this.ctx.frameLimits);
    } catch (error) {
      this.sendError(error);
      return;
    }
    switch (frame.type) {
      case 'ping':
        this.sendFrame({ type: 'pong', timestamp: new Date().toISOString() });
        return;
      case 'ack':
        this.ack(frame.messageId, frame.topic);
        return;
      default:
        this.enqueue(frame);
    }
  }

  private enqueue(frame: SubscribeFrame | UnsubscribeFrame): void {
    if (this.queued >= MAX_PENDING_FRAMES) {
      this.sendError(new TooManyPendingFramesError());
      return;
    }
    this.queued++;
    this.queue = this.queue
      .then(() => (frame.type === 'subscribe' ? this.subscribe(frame) : this.unsubscribe(frame)))
      .catch((error: unknown) => this.sendError(error))
      .finally(() => {
        this.queued--;
      });
  }

  private async subscribe(frame: SubscribeFrame): Promise<void> {
    if (this.ended) return;
    const fresh = frame.topics.filter((topic) => !this.subscriptions.has(topic));
    const max = this.ctx.frameLimits.maxTopics;
    if (this.subscriptions.size + fresh.length > max) throw new TooManyTopicsError(max);
    if (frame.clientId !== null) {
      if (this.clientId !== null && this.clientId !== frame.clientId) {
        throw new InvalidFrameError("'client_id' cannot change within a connection");
      }
      this.clientId = frame.clientId;
    }
    if (frame.offset.kind === 'acked' && this.clientId === null) {
      throw new InvalidFrameError('offset "acked" needs a client_id');
    }

    const seq = this.ctx.control.seq;
    const failures = new Map<string, unknown>();
    const allowed = await Promise.all(fresh.map((topic) => this.mayRead(topic, failures)));
    if (this.ended) return;
    const created: TopicSubscription[] = [];
    fresh.forEach((topic, i) => {
      if (!allowed[i]) return;
      const subscription = new TopicSubscription(
        topic,
        this,
        this.ctx.store,
        this.ctx.subscription,
      );
      this.subscriptions.set(topic, subscription);
      created.push(subscription);
    });
    // Listen before reading anything: whatever is published meanwhile waits in the buffer.
    await Promise.all(
      created.map((s) =>
        this.ctx.fanout.add(s.topic, s).catch((error: unknown) => failures.set(s.topic, error)),
      ),
    );
    if (this.ctx.control.seq !== seq) {
      // An access change may have raced the checks above: check again with fresh data.
      await Promise.all(
        created.map(async (s) => {
          if (!failures.has(s.topic)) await this.mayRead(s.topic, failures);
        }),
      );
    }
    await Promise.all(
      created.map(async (s) => {
        if (failures.has(s.topic)) return;
        try {
          s.lastId = await this.startCursor(s.topic, frame.offset);
        } catch (error) {
          failures.set(s.topic, error);
        }
      }),
    );
    for (const subscription of created) {
      if (failures.has(subscription.topic)) this.drop(subscription);
    }
    if (this.ended) return;

    this.sendFrame({
      type: 'subscribed',
      topics: frame.topics.filter((topic) => this.subscriptions.has(topic)),
      session_id: this.id,
      timestamp: new Date().toISOString(),
    });
    for (const [topic, error] of failures) this.sendError(error, topic);
    for (const subscription of created) {
      if (!subscription.closed) subscription.start(frame.offset.kind !== 'last');
    }
  }

  private async unsubscribe(frame: UnsubscribeFrame): Promise<void> {
    const removed: string[] = [];
    for (const topic of frame.topics) {
      const subscription = this.subscriptions.get(topic);
      if (!subscription) continue;
      this.drop(subscription);
      removed.push(topic);
    }
    this.sendFrame({ type: 'unsubscribed', topics: removed, timestamp: new Date().toISOString() });
  }

  private ack(messageId: string, named: string | null): void {
    const topic =
      named ?? (this.subscriptions.size === 1 ? this.subscriptions.keys().next().value : null);
    if (topic === null || topic === undefined) {
      this.sendError(new InvalidFrameError("'topic' is required unless exactly one is subscribed"));
      return;
    }
    if (!this.subscriptions.has(topic)) {
      this.sendError(new NotSubscribedError(topic), topic);
      return;
    }
    const clientId = this.clientId;
    if (clientId === null) return; // accepted; recorded only for a named client
    let writer = this.ackWriters.get(topic);
    if (!writer) {
      const userId = this.currentUser.userId;
      writer = new AckWriter((id) => this.ctx.acks.set(userId, clientId, topic, id));
      this.ackWriters.set(topic, writer);
    }
    writer.ack(messageId);
  }

  private async startCursor(topic: string, offset: SubscribeOffset): Promise<string | null> {
    switch (offset.kind) {
      case 'last':
        return this.ctx.store.lastId(topic);
      case 'earliest':
        return null;
      case 'after':
        return offset.id;
      case 'acked':
        // Nothing acknowledged yet: everything retained is unacknowledged.
        return this.ctx.acks.get(this.currentUser.userId, this.clientId ?? '', topic);
    }
  }

  /** Records a failure (denied or storage error) for `topic`; true when readable. */
  private async mayRead(topic: string, failures: Map<string, unknown>): Promise<boolean> {
    try {
      if (await this.ctx.access.canRead(this.currentUser, topic)) return true;
      failures.set(topic, new TopicNotFoundError(topic));
    } catch (error) {
      failures.set(topic, error);
    }
    return false;
  }

  private async recheck(subscription: TopicSubscription): Promise<void> {
    const failures = new Map<string, unknown>();
    if (await this.mayRead(subscription.topic, failures)) return;
    if (this.subscriptions.get(subscription.topic) !== subscription) return;
    this.drop(subscription);
    this.sendError(failures.get(subscription.topic), subscription.topic);
  }

  private async refreshUser(): Promise<void> {
    try {
      this.currentUser = await this.ctx.access.refreshUser(this.currentUser);
    } catch (error) {
      const domain = asDomainError(error);
      const denied = domain !== null && (domain.status === 401 || domain.status === 403);
      this.ctx.metrics.error(domain?.code ?? 'INTERNAL_ERROR');
      // Fail closed: a consumer whose rights cannot be confirmed reconnects and is checked anew.
      this.close(
        denied ? CLOSE_POLICY : CLOSE_INTERNAL,
        denied ? domain.detail : 'Access re-check failed',
      );
      return;
    }
    await Promise.all([...this.subscriptions.values()].map((s) => this.recheck(s)));
  }

  private drop(subscription: TopicSubscription): void {
    subscription.close();
    this.ctx.fanout.remove(subscription.topic, subscription);
    if (this.subscriptions.get(subscription.topic) === subscription) {
      this.subscriptions.delete(subscription.topic);
      this.ackWriters.delete(subscription.topic);
    }
  }

  private endSubscriptions(): void {
    for (const subscription of [...this.subscriptions.values()]) this.drop(subscription);
  }

  private dispose(): void {
    this.ended = true;
    this.endSubscriptions();
    if (this.disposed) return;
    this.disposed = true;
    this.onDisposed(this);
    this.resolveClosed();
  }

  // ---- output -------------------------------------------------------------------------------

  private sendError(error: unknown, topic?: string): void {
    const frame = toErrorFrame(error, topic);
    if (frame.code === 'INTERNAL_ERROR') {
      this.ctx.logger.error({ err: error, session: this.id }, 'WebSocket request failed');
    }
    this.ctx.metrics.error(frame.code);
    this.sendFrame(frame);
  }

  private sendFrame(frame: object): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /**
   * While the fan-out collects (several messages in one tick, see `SendBatch`), frames are held
   * on the corked connection and leave in one write at the end of the tick, in order. The send
   * buffer is judged after a write, so a burst the kernel takes at once is not mistaken for a
   * slow consumer; a held burst that passes the bound is written (and judged) at once.
   */
  private sendRaw(data: Buffer | string): boolean {
    if (this.ended || this.ws.readyState !== WebSocket.OPEN) return false;
    if (!this.corked && this.ctx.batch.collecting) {
      this.corked = true;
      this.socket.cork();
      this.ctx.batch.hold(this);
    }
    this.ws.send(data, { binary: false });
    if (!this.corked || this.ws.bufferedAmount > this.ctx.maxBufferedBytes) this.release();
    return true;
  }

  /** Writes held frames, then disconnects a consumer that leaves more than the bound unsent. */
  release(): void {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    if (!this.ended && this.ws.bufferedAmount > this.ctx.maxBufferedBytes) {
      this.ctx.metrics.error('SLOW_CONSUMER');
      this.close(
        CLOSE_TRY_AGAIN_LATER,
        `Slow consumer: more than ${this.ctx.maxBufferedBytes} bytes waiting to be sent`,
      );
    }
  }
}
