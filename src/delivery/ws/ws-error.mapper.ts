import { DomainError, TopicNotFoundError } from '../../common/errors';

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  /** The topic the error is about, when it concerns one topic the client named. */
  topic?: string;
}

/**
 * The one mapping from errors to WebSocket `error` frames. A topic that is missing or not
 * readable is `ACCESS_DENIED` (no existence oracle); unknown errors carry no internals.
 */
export function toErrorFrame(error: unknown, topic?: string): ErrorFrame {
  let frame: ErrorFrame;
  if (error instanceof TopicNotFoundError) {
    frame = {
      type: 'error',
      code: 'ACCESS_DENIED',
      message: `Access denied to topic '${error.topic}'`,
      topic: error.topic,
    };
  } else if (error instanceof DomainError) {
    frame = { type: 'error', code: error.code, message: error.detail };
  } else {
    frame = { type: 'error', code: 'INTERNAL_ERROR', message: 'Internal error' };
  }
  if (topic !== undefined) frame.topic = topic;
  return frame;
}
