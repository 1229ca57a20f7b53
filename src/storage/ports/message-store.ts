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

export interface NewMessage {
  topic: string;
  payload: Record<string, unknown>;
  metadata: Record<string, string>;
  /** Seconds; undefined = no TTL. */
  ttl?: number;
}

/**
 * The message log: one ordered stream per topic with ids `<ms>-<seq>`, strictly increasing.
 * Reads never return expired messages. Bounds are exclusive. Ids given to reads are canonical
 * (see `normalizeMessageId`).
 */
export abstract class MessageStore {
  /**
   * Appends, announces the message on the `MessageBus`, and returns it. The append is durable when
   * the promise resolves.
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

  /** Removes the topic's whole stream. */
  abstract deleteTopic(topic: string): Promise<void>;
}
