import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { AuthUser } from '../auth/auth-user';
import { AccessDeniedError, DomainError } from '../common/errors';
import { isoTime, messageIdTime } from '../common/message-id';
import { RelayConfig } from '../config/relay-config';
import { CounterSeries } from '../metrics/counter-series';
import { METRICS } from '../metrics/metric-names';
import { MessageStore, NewMessage, StoredMessage } from '../storage/ports';
import { TopicAccess } from '../topics/topic-access';
import { bulkMarker, IdempotencyService, singleMarker } from './idempotency.service';
import { PublishRateLimiter } from './publish-rate-limiter';

export interface PublishResult {
  message_id: string;
  topic: string;
  timestamp: string;
}

export interface BulkItemResult {
  message_id: string | null;
  topic: string;
  status: 'accepted' | 'rejected';
  error: string | null;
}

export interface BulkPublishResult {
  results: BulkItemResult[];
  summary: { total: number; accepted: number; rejected: number };
}

const BULK_DENIED = 'Access denied to one or more requested topics';

type Stored = Pick<StoredMessage, 'id' | 'topic'>;

/**
 * The 201 body from an id alone (a replayed publish): the id's time, as the store derives
 * `StoredMessage.timestamp`.
 */
function publishResult(id: string, topic: string): PublishResult {
  return { message_id: id, topic, timestamp: isoTime(messageIdTime(id)) };
}

/** The 207 body: one result per message, in order. */
function bulkResult(messages: NewMessage[], outcomes: Array<Stored | Error>): BulkPublishResult {
  const results = new Array<BulkItemResult>(outcomes.length);
  let accepted = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i];
    if (outcome instanceof Error) {
      results[i] = {
        message_id: null,
        topic: messages[i].topic,
        status: 'rejected',
        error: outcome instanceof DomainError ? outcome.detail : 'Failed to store the message',
      };
    } else {
      accepted++;
      results[i] = {
        message_id: outcome.id,
        topic: outcome.topic,
        status: 'accepted',
        error: null,
      };
    }
  }
  return {
    results,
    summary: { total: outcomes.length, accepted, rejected: outcomes.length - accepted },
  };
}

/** Publishing: access (auto-creating missing topics), idempotency, append (which fans out). */
@Injectable()
export class MessagesService {
  private readonly perTopicLabels: boolean;
  private readonly receivedAll: CounterSeries;
  private readonly appendOk: CounterSeries;
  private readonly appendFailed: CounterSeries;
  private readonly appendManyOk: CounterSeries;
  private readonly appendManyFailed: CounterSeries;

  constructor(
    private readonly store: MessageStore,
    private readonly access: TopicAccess,
    private readonly idempotency: IdempotencyService,
    private readonly rateLimiter: PublishRateLimiter,
    config: RelayConfig,
    @InjectMetric(METRICS.messagesReceived) private readonly received: Counter<'topic'>,
    @InjectMetric(METRICS.storageOperations) operations: Counter<'operation' | 'status'>,
  ) {
    this.perTopicLabels = config.metrics.perTopicLabels;
    this.receivedAll = new CounterSeries(received, { topic: '' });
    this.appendOk = new CounterSeries(operations, { operation: 'append', status: 'ok' });
    this.appendFailed = new CounterSeries(operations, { operation: 'append', status: 'error' });
    this.appendManyOk = new CounterSeries(operations, { operation: 'append_many', status: 'ok' });
    this.appendManyFailed = new CounterSeries(operations, {
      operation: 'append_many',
      status: 'error',
    });
  }

  async publish(
    user: AuthUser,
    message: NewMessage,
    idempotencyKey?: string,
  ): Promise<PublishResult> {
    if (this.rateLimiter.enabled) await this.rateLimiter.check(user.userId);
    await this.access.requireWrite(user, message.topic);
    if (idempotencyKey === undefined || !this.idempotency.enabled) return this.storeOne(message);
    const marker = singleMarker(user.userId, idempotencyKey);
    return this.idempotency.run(
      `${user.userId}:single`,
      idempotencyKey,
      () => this.storeOne({ ...message, idempotencyMarker: marker }),
      () => this.recoverOne(message.topic, marker),
    );
  }

  /** All topics must be writable (else 403, nothing written); then each message in order. */
  async publishBulk(
    user: AuthUser,
    messages: NewMessage[],
    idempotencyKey?: string,
  ): Promise<BulkPublishResult> {
    if (this.rateLimiter.enabled) await this.rateLimiter.check(user.userId);
    await this.requireWriteAll(user, messages);
    if (idempotencyKey === undefined || !this.idempotency.enabled) {
      return this.storeMany(messages);
    }
    const markers = messages.map((_, i) => bulkMarker(user.userId, idempotencyKey, i));
    const marked = messages.map((message, i): NewMessage => ({
      ...message,
      idempotencyMarker: markers[i],
    }));
    return this.idempotency.run(
      `${user.userId}:bulk`,
      idempotencyKey,
      () => this.storeMany(marked),
      () => this.recoverMany(marked, markers),
    );
  }

  private async storeOne(message: NewMessage): Promise<PublishResult> {
    const stored = await this.append(message);
    this.countReceived(stored.topic, 1);
    return { message_id: stored.id, topic: stored.topic, timestamp: stored.timestamp };
  }

  /** The response of an earlier attempt that stored the message (found by its marker), or null. */
  private async recoverOne(topic: string, marker: string): Promise<PublishResult | null> {
    const id = await this.store.findMarker(topic, marker);
    return id === null ? null : publishResult(id, topic);
  }

  /**
   * Finishes an earlier attempt that stored some of the messages: those found by their markers
   * are accepted with their ids, the others are appended now (still marked, so an earlier attempt
   * that is alive after all and appends them too cannot store them twice). Null when it stored
   * none.
   */
  private async recoverMany(
    messages: NewMessage[],
    markers: string[],
  ): Promise<BulkPublishResult | null> {
    const found = await Promise.all(
      messages.map((m, i) => this.store.findMarker(m.topic, markers[i])),
    );
    if (found.every((id) => id === null)) return null;
    const missing: number[] = [];
    const outcomes = found.map((id, i): Stored | Error => {
      if (id === null) missing.push(i);
      return { id: id ?? '', topic: messages[i].topic };
    });
    if (missing.length > 0) {
      const appended = await this.appendMany(missing.map((i) => messages[i]));
      missing.forEach((index, k) => (outcomes[index] = appended[k]));
      this.countStored(appended);
    }
    return bulkResult(messages, outcomes);
  }

  private async storeMany(messages: NewMessage[]): Promise<BulkPublishResult> {
    const stored = await this.appendMany(messages);
    this.countStored(stored);
    return bulkResult(messages, stored);
  }

  private countStored(outcomes: Array<StoredMessage | Error>): void {
    let stored = 0;
    for (const outcome of outcomes) {
      if (outcome instanceof Error) continue;
      stored++;
      if (this.perTopicLabels) this.received.inc({ topic: outcome.topic });
    }
    if (!this.perTopicLabels && stored > 0) this.receivedAll.inc(stored);
  }

  /**
   * Checks every distinct topic before creating any, so that a refused request leaves nothing
   * behind (not even an auto-created topic).
   */
  private async requireWriteAll(user: AuthUser, messages: NewMessage[]): Promise<void> {
    const names = new Set<string>();
    for (const message of messages) names.add(message.topic);
    const found = await Promise.all([...names].map((name) => this.access.findForWrite(name)));
    const missing: string[] = [];
    let i = 0;
    for (const name of names) {
      const topic = found[i++];
      if (!topic) missing.push(name);
      else if (!TopicAccess.allows(user, topic, 'write')) throw new AccessDeniedError(BULK_DENIED);
    }
    const created = await Promise.all(missing.map((name) => this.access.autoCreate(user, name)));
    for (const topic of created) {
      if (!TopicAccess.allows(user, topic, 'write')) throw new AccessDeniedError(BULK_DENIED);
    }
  }

  private async append(message: NewMessage): Promise<StoredMessage> {
    try {
      const stored = await this.store.append(message);
      this.appendOk.inc();
      return stored;
    } catch (error) {
      this.appendFailed.inc();
      throw error;
    }
  }

  private async appendMany(messages: NewMessage[]): Promise<Array<StoredMessage | Error>> {
    try {
      const stored = await this.store.appendMany(messages);
      this.appendManyOk.inc();
      return stored;
    } catch (error) {
      this.appendManyFailed.inc();
      throw error;
    }
  }

  private countReceived(topic: string, count: number): void {
    if (this.perTopicLabels) this.received.inc({ topic }, count);
    else this.receivedAll.inc(count);
  }
}
