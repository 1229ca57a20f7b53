import { DomainError } from '../common/errors';

/** New connections and polls are refused while the instance drains (graceful shutdown). */
export class ShuttingDownError extends DomainError {
  constructor() {
    super(503, 'SHUTTING_DOWN', 'Server is shutting down, retry on another instance', {
      'Retry-After': '1',
    });
  }
}

export class InvalidFrameError extends DomainError {
  constructor(detail: string) {
    super(400, 'INVALID_FRAME', detail);
  }
}

export class UnknownFrameTypeError extends DomainError {
  constructor(type: string) {
    super(400, 'UNKNOWN_MESSAGE_TYPE', `Unknown message type: ${type.slice(0, 64)}`);
  }
}

export class FrameTooLargeError extends DomainError {
  constructor(limit: number) {
    super(413, 'FRAME_TOO_LARGE', `Frame exceeds ${limit} bytes`);
  }
}

export class TooManyTopicsError extends DomainError {
  constructor(limit: number) {
    super(400, 'TOO_MANY_TOPICS', `A connection may subscribe to at most ${limit} topics`);
  }
}

export class NotSubscribedError extends DomainError {
  constructor(topic: string) {
    super(400, 'NOT_SUBSCRIBED', `Not subscribed to topic '${topic}'`);
  }
}

export class TooManyPendingFramesError extends DomainError {
  constructor() {
    super(429, 'TOO_MANY_PENDING', 'Too many subscribe/unsubscribe requests in flight');
  }
}

export class OriginNotAllowedError extends DomainError {
  constructor() {
    super(403, 'ORIGIN_NOT_ALLOWED', 'Origin not permitted');
  }
}

export class TooManyConnectionsError extends DomainError {
  constructor(detail: string, status: 429 | 503) {
    super(status, 'TOO_MANY_CONNECTIONS', detail, { 'Retry-After': '1' });
  }
}

export class TopicDeletedError extends DomainError {
  constructor(topic: string) {
    super(410, 'TOPIC_DELETED', `Topic '${topic}' was deleted`);
  }
}

export class ReplayLimitError extends DomainError {
  constructor(topic: string, limit: number, lastId: string | null) {
    super(
      400,
      'REPLAY_LIMIT',
      `Replay of topic '${topic}' stopped after ${limit} messages; subscribe again with offset ` +
        `"${lastId ?? 'earliest'}" to continue`,
    );
  }
}
