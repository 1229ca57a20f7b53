import type { RawData } from 'ws';
import { normalizeMessageId } from '../../common/message-id';
import { isTopicName } from '../../common/topic-name';
import {
  FrameTooLargeError,
  InvalidFrameError,
  TooManyTopicsError,
  UnknownFrameTypeError,
} from '../delivery-errors';

export type SubscribeOffset =
  { kind: 'last' } | { kind: 'earliest' } | { kind: 'acked' } | { kind: 'after'; id: string };

export type ClientFrame =
  | { type: 'subscribe'; topics: string[]; offset: SubscribeOffset; clientId: string | null }
  | { type: 'unsubscribe'; topics: string[] }
  | { type: 'ack'; messageId: string; topic: string | null }
  | { type: 'ping' };

export interface FrameLimits {
  maxFrameBytes: number;
  maxTopics: number;
}

const MAX_CLIENT_ID_LENGTH = 255;

/** Parses and validates one client frame; throws a `DomainError` naming what is wrong. */
export function parseClientFrame(
  data: RawData,
  isBinary: boolean,
  limits: FrameLimits,
): ClientFrame {
  const bytes = toBuffer(data);
  if (bytes.length > limits.maxFrameBytes) throw new FrameTooLargeError(limits.maxFrameBytes);
  if (isBinary) throw new InvalidFrameError('Binary frames are not supported; send JSON text');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidFrameError('Frame is not valid JSON');
  }
  if (!isRecord(parsed)) throw new InvalidFrameError('Frame must be a JSON object');
  // Upstream clients may omit the type of a subscribe frame.
  const type = parsed.type ?? ('topics' in parsed ? 'subscribe' : undefined);
  if (type === undefined) throw new InvalidFrameError("Frame has no 'type'");
  if (typeof type !== 'string') throw new InvalidFrameError("'type' must be a string");
  switch (type) {
    case 'subscribe':
      return parseSubscribe(parsed, limits);
    case 'unsubscribe':
      return { type: 'unsubscribe', topics: parseTopics(parsed.topics, Number.MAX_SAFE_INTEGER) };
    case 'ack':
      return parseAck(parsed);
    case 'ping':
      return { type: 'ping' };
    default:
      throw new UnknownFrameTypeError(type);
  }
}

function parseSubscribe(frame: Record<string, unknown>, limits: FrameLimits): ClientFrame {
  const topics = parseTopics(frame.topics, limits.maxTopics);
  const clientId = frame.client_id ?? null;
  if (
    clientId !== null &&
    (typeof clientId !== 'string' || clientId.length < 1 || clientId.length > MAX_CLIENT_ID_LENGTH)
  ) {
    throw new InvalidFrameError(
      `'client_id' must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters`,
    );
  }
  return { type: 'subscribe', topics, offset: parseOffset(frame.offset), clientId };
}

function parseOffset(raw: unknown): SubscribeOffset {
  if (raw === undefined || raw === null || raw === 'last') return { kind: 'last' };
  if (raw === 'earliest') return { kind: 'earliest' };
  if (raw === 'acked') return { kind: 'acked' };
  const id = normalizeMessageId(raw);
  if (id === null) {
    throw new InvalidFrameError(
      '\'offset\' must be "last", "earliest", "acked" or a message id <ms>-<seq>',
    );
  }
  return { kind: 'after', id };
}

function parseAck(frame: Record<string, unknown>): ClientFrame {
  const messageId = normalizeMessageId(frame.message_id);
  if (messageId === null)
    throw new InvalidFrameError("'message_id' must be a message id <ms>-<seq>");
  const topic = frame.topic ?? null;
  if (topic !== null && !isTopicName(topic))
    throw new InvalidFrameError("'topic' is not a valid topic name");
  return { type: 'ack', messageId, topic };
}

function parseTopics(raw: unknown, max: number): string[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidFrameError("'topics' must be a non-empty list of topic names");
  }
  if (!raw.every(isTopicName)) {
    throw new InvalidFrameError(
      "'topics' must hold topic names of 1-255 letters, digits, '-' or '_'",
    );
  }
  const topics = [...new Set(raw)];
  if (topics.length > max) throw new TooManyTopicsError(max);
  return topics;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
