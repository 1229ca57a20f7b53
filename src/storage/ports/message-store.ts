/** A message as stored and delivered. `timestamp` is ISO-8601 UTC with `Z`. */
export interface StoredMessage {
  id: string;
  topic: string;
  payload: Record<string, unknown>;
  metadata: Record<string, string>;
  timestamp: string;
  /** Epoch ms after which the message is never delivered or replayed; null = no TTL. */
  expiresAt: number | null;
}

/**
 * The longest a publish counts as in flight: an `Idempotency-Key` claim left by a relay that died
 * mid-request expires after this (at most; never longer than the window).
 */
export const IDEMPOTENCY_LEASE_SECONDS = 30;

/**
 * How long a driver keeps an idempotency marker: the window, which starts when a response is
 * recorded, plus the lease, since a request that died after its append never recorded one and is
 * deemed finished only once it can no longer be in flight. Retries of a publish cut by a crash
 * typically come after a restart; with the window alone (5 s in some tests, and any window at
 * most the claim's lease) a retry that waits out the dead request's claim would find its marker
 * gone too. The cost: a key reused for a different message up to 30 s after its window still
 * answers with the first message's id.
 */
export function idempotencyMarkerTtlSeconds(windowSeconds: number): number {
  return windowSeconds > 0 ? windowSeconds + IDEMPOTENCY_LEASE_SECONDS : 0;
}

export interface NewMessage {
  topic: string;
  payload: Record<string, unknown>;
  metadata: Record<string, string>;
  /** Seconds; undefined = no TTL. */
  ttl?: number;
  /**
   * Internal, never from or to the wire: identifies the request that publishes this message
   * (`<userId>:<key>`, `<userId>:<key>#<index>` for bulk). The driver records it with the message,
   * atomically, for the idempotency window (see `idempotencyMarkerTtlSeconds`), and `findMarker`
   * then finds the message's id.
   */
  idempotencyMarker?: string;
  /**
   * Internal: `JSON.stringify(payload)` when the caller already computed it (the size check), so
   * that a driver storing JSON need not serialise the payload again. Must match `payload`.
   */
  payloadJson?: string;
}

/**
 * The message log: one ordered stream per topic with ids `<ms>-<seq>`, strictly increasing.
 * Reads never return expired messages. Bounds are exclusive. Ids given to reads are canonical
 * (see `normalizeMessageId`).
 */
export abstract class MessageStore {
  /**
   * Appends, announces the message on the `MessageBus`, and returns it. The append is durable when
   * the promise resolves. With an `idempotencyMarker`, the marker is written in the same atomic
   * step; when the topic already holds a message with that marker (within the idempotency
   * window), nothing is appended or announced and the earlier message's id is returned, with
   * this input's content (a retry carries the same body).
   */
  abstract append(message: NewMessage): Promise<StoredMessage>;

  /** Appends in order (pipelined where the driver can); one result per input, an Error where it failed. */
  abstract appendMany(messages: NewMessage[]): Promise<Array<StoredMessage | Error>>;

  /** Oldest first, strictly after `afterId` (null = from the oldest retained). */
  abstract readAfter(
    topic: string,
    afterId: string | null,
    limit: number,
  ): Promise<StoredMessage[]>;

  /** Newest first, strictly before `beforeId` (null = from the newest). */
  abstract readBefore(
    topic: string,
    beforeId: string | null,
    limit: number,
  ): Promise<StoredMessage[]>;

  /** Id of the newest message of the topic (expired or not), or null when empty. */
  abstract lastId(topic: string): Promise<string | null>;

  /** Number of retained messages of a topic (may include expired ones not yet removed). */
  abstract count(topic: string): Promise<number>;

  /**
   * Id of the message appended to `topic` with `idempotencyMarker` = `marker` within the
   * idempotency window (`storage.idempotency_window` plus the lease, see
   * `idempotencyMarkerTtlSeconds`), or null. One round trip.
   */
  abstract findMarker(topic: string, marker: string): Promise<string | null>;

  /** Removes the topic's whole stream, idempotency markers included. */
  abstract deleteTopic(topic: string): Promise<void>;
}
