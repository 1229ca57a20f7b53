import { StoredMessage } from '../storage/ports';
import type { PollItemDto } from './poll/dto/poll-response.dto';

/** The `message` frame of the WebSocket protocol (live and replay alike). */
export interface MessageFrame {
  type: 'message';
  message_id: string;
  topic: string;
  payload: Record<string, unknown>;
  timestamp: string;
  metadata: Record<string, string>;
}

export function toMessageFrame(message: StoredMessage): MessageFrame {
  return {
    type: 'message',
    message_id: message.id,
    topic: message.topic,
    payload: message.payload,
    timestamp: message.timestamp,
    metadata: message.metadata ?? {},
  };
}

/** One item of a long-poll answer (live, catch-up and resync alike). */
export function toPollItem(message: StoredMessage): PollItemDto {
  return {
    type: 'message',
    topic: message.topic,
    message_id: message.id,
    payload: message.payload,
    timestamp: message.timestamp,
    metadata: message.metadata ?? {},
    stream_id: message.id,
  };
}

/**
 * One message on its way to consumers. The WebSocket frame, and the long-poll answer that holds
 * only this message, are each serialised at most once, however many consumers receive them.
 */
export class OutboundMessage {
  private frame: Buffer | null = null;
  private pollAnswer: Buffer | null = null;

  constructor(readonly message: StoredMessage) {}

  get id(): string {
    return this.message.id;
  }

  get topic(): string {
    return this.message.topic;
  }

  isExpired(now: number): boolean {
    return this.message.expiresAt !== null && this.message.expiresAt <= now;
  }

  wsFrame(): Buffer {
    this.frame ??= Buffer.from(JSON.stringify(toMessageFrame(this.message)));
    return this.frame;
  }

  /**
   * The body of a long-poll answer made of this message alone (`{messages: [item], has_more:
   * false}`): the same bytes `JSON.stringify` gives for that answer, shared by every poll this
   * message releases.
   */
  pollBody(): Buffer {
    this.pollAnswer ??= Buffer.from(
      JSON.stringify({ messages: [toPollItem(this.message)], has_more: false }),
    );
    return this.pollAnswer;
  }
}
