import { BeforeApplicationShutdown, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { AuthUser, hasPermission } from '../../auth/auth-user';
import {
  RequestValidationError,
  TooManyRequestsError,
  TopicNotFoundError,
} from '../../common/errors';
import { requireMessageId } from '../../common/message-id';
import { RelayConfig } from '../../config/relay-config';
import { MessageStore } from '../../storage/ports';
import { AccessCheck } from '../access-check';
import { ConsumerRegistry } from '../consumer-registry';
import { DeliveryControl } from '../delivery-control';
import { ShuttingDownError } from '../delivery-errors';
import { DeliveryMetrics } from '../delivery-metrics';
import { Fanout } from '../fanout';
import { PollStatsDto } from './dto/poll-response.dto';
import { liveItems, PollLane, PollWaiter } from './poll-waiter';

export interface PollRequest {
  topics: string[];
  since: Record<string, unknown> | null;
  timeoutSeconds: number;
}

/** The caller's connection, watched only to end the wait when the client goes away. */
export type PollClient = Pick<ServerResponse, 'destroyed' | 'writableFinished' | 'on'>;

/** The waiting poll of each client that may still go away. */
const waiterOf = new WeakMap<PollClient, PollWaiter>();

/** `close` listener shared by every waiting poll: a client that goes away ends its wait. */
function onClientClose(this: PollClient): void {
  if (!this.writableFinished) waiterOf.get(this)?.abandon();
}

/**
 * Long-poll: register a waiter on every topic, then catch up from the store after `since`, then
 * wait for the first live message or the timeout. Registering first means nothing published
 * during the catch-up read is lost.
 *
 * The answer is the serialised 200 body: waiters released by one message share one buffer. Null
 * when the client went away (nothing to write).
 */
@Injectable()
export class PollService implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly waiters = new Set<PollWaiter>();
  private draining = false;

  constructor(
    private readonly store: MessageStore,
    private readonly fanout: Fanout,
    private readonly registry: ConsumerRegistry,
    private readonly access: AccessCheck,
    private readonly control: DeliveryControl,
    private readonly metrics: DeliveryMetrics,
    private readonly config: RelayConfig,
  ) {}

  async poll(user: AuthUser, request: PollRequest, client: PollClient): Promise<Buffer | null> {
    if (this.draining) throw new ShuttingDownError();
    const { pollMaxTopics, pollMaxWaitersPerUser, pollMaxWaiters, pollBatchSize } =
      this.config.limits;
    const topics = [...new Set(request.topics)];
    if (topics.length > pollMaxTopics) {
      throw RequestValidationError.single(
        ['body', 'topics'],
        `List should have at most ${pollMaxTopics} items`,
        'too_long',
      );
    }
    const since = new Map<string, string>();
    for (const topic of topics) {
      if (request.since && Object.hasOwn(request.since, topic)) {
        since.set(topic, requireMessageId(request.since[topic], ['body', 'since', topic]));
      }
    }
    if (this.registry.countForUser(user.userId, 'poll') >= pollMaxWaitersPerUser) {
      throw new TooManyRequestsError('Too many concurrent poll connections', 'TOO_MANY_POLLS');
    }
    if (this.registry.total('poll') >= pollMaxWaiters) {
      throw new TooManyRequestsError('This instance has too many waiting polls', 'TOO_MANY_POLLS');
    }

    const waiter = new PollWaiter(user, topics, since, pollBatchSize, this.access, (lane) =>
      this.resync(lane),
    );
    this.waiters.add(waiter);
    this.registry.add(waiter);
    this.metrics.pollStarted();
    if (client.destroyed) waiter.abandon();
    else {
      waiterOf.set(client, waiter);
      client.on('close', onClientClose);
    }
    try {
      const seq = this.control.seq;
      await this.requireReadable(user, topics);
      await Promise.all(waiter.lanes.map((lane) => this.fanout.add(lane.topic, lane)));
      // An access change may have raced the check above: check again with fresh data.
      if (this.control.seq !== seq) await this.requireReadable(waiter.user, topics);
      await Promise.all(waiter.lanes.map((lane) => this.catchUp(lane)));
      await waiter.wait(request.timeoutSeconds * 1000);
      if (waiter.abandoned) return null;
      const body = waiter.body();
      this.count(waiter);
      return body;
    } finally {
      waiter.finish();
      waiterOf.delete(client);
      for (const lane of waiter.lanes) this.fanout.remove(lane.topic, lane);
      this.registry.remove(waiter);
      this.waiters.delete(waiter);
      this.metrics.pollEnded();
    }
  }

  /** The caller's own waiting polls (every poll of this instance for an admin). */
  stats(user: AuthUser): PollStatsDto {
    const admin = hasPermission(user, 'admin');
    const counts = new Map<string, number>();
    let active = 0;
    for (const waiter of this.waiters) {
      if (!admin && waiter.user.userId !== user.userId) continue;
      active++;
      for (const lane of waiter.lanes) counts.set(lane.topic, (counts.get(lane.topic) ?? 0) + 1);
    }
    return {
      active_waiters: active,
      subscribed_topics: counts.size,
      topic_subscriber_counts: Object.fromEntries(counts),
    };
  }

  /** Graceful shutdown: refuse new polls and answer the waiting ones with what they hold. */
  onModuleDestroy(): void {
    this.stop();
  }

  beforeApplicationShutdown(): void {
    this.stop();
  }

  private stop(): void {
    this.draining = true;
    for (const waiter of this.waiters) waiter.finish();
  }

  private async requireReadable(user: AuthUser, topics: string[]): Promise<void> {
    const readable = await Promise.all(topics.map((topic) => this.access.canRead(user, topic)));
    const hidden = topics.find((_, i) => !readable[i]);
    if (hidden !== undefined) throw new TopicNotFoundError(hidden);
  }

  private async catchUp(lane: PollLane): Promise<void> {
    if (lane.since === null) {
      lane.baseline = await this.store.lastId(lane.topic);
      return;
    }
    const batch = this.config.limits.pollBatchSize;
    lane.caughtUp(await this.store.readAfter(lane.topic, lane.since, batch + 1));
  }

  /** The bus lost messages: read what the lane may have missed from the store. */
  private async resync(lane: PollLane): Promise<void> {
    const after = lane.cursor ?? lane.baseline;
    if (after === null && lane.since === null) return; // nothing to resume from yet
    const batch = this.config.limits.pollBatchSize;
    const stored = await this.store.readAfter(lane.topic, after, batch + 1);
    for (const message of stored) lane.take(message, true);
  }

  private count(waiter: PollWaiter): void {
    for (const lane of waiter.lanes) {
      this.metrics.delivered('poll', lane.topic, lane.items.length);
    }
    for (const message of liveItems(waiter)) this.metrics.latency('poll', message.id);
  }
}
