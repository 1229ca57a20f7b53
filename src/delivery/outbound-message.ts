import { StoredMessage } from '../storage/ports';

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

/**
 * One message on its way to consumers. The WebSocket frame is serialised at most once, however
 * many sockets receive it.
 */
export class OutboundMessage {
  private frame: Buffer | null = null;

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
}
