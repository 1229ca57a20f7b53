import { isoTime, messageIdTime } from '../../common/message-id';
import { StoredMessage } from '../ports';

/** Stream entry fields; `metadata` and `ttl` are present only when set. */
export const FIELD_PAYLOAD = 'payload';
export const FIELD_METADATA = 'metadata';
export const FIELD_TTL = 'ttl';

/** What the append script publishes: `{"id", "ttl", "metadata", "payload"}` as JSON. */
interface MessageFrame {
  id: string;
  ttl: number | null;
  metadata: Record<string, string>;
  payload: Record<string, unknown>;
}

/** What the stream-delete script publishes, so subscribed instances drop cached messages. */
export const RESET_FRAME = '{"reset":true}';

function build(
  topic: string,
  id: string,
  payload: Record<string, unknown>,
  metadata: Record<string, string>,
  ttl: number | null,
): StoredMessage {
  const ms = messageIdTime(id);
  return {
    id,
    topic,
    payload,
    metadata,
    timestamp: isoTime(ms),
    expiresAt: ttl === null ? null : ms + ttl * 1000,
  };
}

/** Decodes an XRANGE entry (`[id, [field, value, ...]]`). */
export function decodeEntry(topic: string, id: string, fields: string[]): StoredMessage {
  let payload: Record<string, unknown> = {};
  let metadata: Record<string, string> = {};
  let ttl: number | null = null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    switch (fields[i]) {
      case FIELD_PAYLOAD:
        payload = JSON.parse(value) as Record<string, unknown>;
        break;
      case FIELD_METADATA:
        metadata = JSON.parse(value) as Record<string, string>;
        break;
      case FIELD_TTL:
        ttl = Number(value);
        break;
    }
  }
  return build(topic, id, payload, metadata, ttl);
}

/** Decodes a published frame; null for the reset frame. */
export function decodeFrame(topic: string, raw: string): StoredMessage | null {
  const frame = JSON.parse(raw) as MessageFrame | { reset: true };
  if ('reset' in frame) return null;
  return build(topic, frame.id, frame.payload, frame.metadata, frame.ttl);
}

export function isLive(message: StoredMessage, now: number): boolean {
  return message.expiresAt === null || message.expiresAt > now;
}
