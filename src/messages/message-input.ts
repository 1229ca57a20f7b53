import { PayloadTooLargeError, RequestValidationError, ValidationIssue } from '../common/errors';
import { nestingDepth } from '../common/json-depth';
import { isTopicName, TOPIC_NAME_MESSAGE } from '../common/topic-name';
import { NewMessage } from '../storage/ports';

/**
 * Hand-written validation of publish bodies: this is the hot path, so one pass over the parsed
 * JSON builds the message that is stored, with the same 422 list form as the DTO pipe.
 */

type Loc = Array<string | number>;

/** Largest `ttl` accepted (about 68 years), so that every driver can turn it into an expiry. */
export const MAX_TTL_SECONDS = 2_147_483_647;

export interface PublishLimits {
  maxMessageSize: number;
  maxPayloadDepth: number;
  maxBulkMessages: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function missing(loc: Loc): ValidationIssue {
  return { loc, msg: 'Field required', type: 'missing' };
}

function notObject(loc: Loc): ValidationIssue {
  return { loc, msg: 'Input should be a valid dictionary', type: 'dict_type' };
}

function readMessage(
  raw: unknown,
  loc: Loc,
  issues: ValidationIssue[],
  maxDepth: number,
): NewMessage | null {
  if (!isPlainObject(raw)) {
    issues.push(notObject(loc));
    return null;
  }
  const before = issues.length;
  const { topic, payload, metadata, ttl } = raw;

  if (topic === undefined) issues.push(missing([...loc, 'topic']));
  else if (typeof topic !== 'string') {
    issues.push({
      loc: [...loc, 'topic'],
      msg: 'Input should be a valid string',
      type: 'string_type',
    });
  } else if (!isTopicName(topic)) {
    issues.push({
      loc: [...loc, 'topic'],
      msg: TOPIC_NAME_MESSAGE,
      type: 'string_pattern_mismatch',
    });
  }

  if (payload === undefined) issues.push(missing([...loc, 'payload']));
  else if (!isPlainObject(payload)) issues.push(notObject([...loc, 'payload']));
  else if (nestingDepth(payload, maxDepth) > maxDepth) {
    issues.push({
      loc: [...loc, 'payload'],
      msg: `Input is nested too deeply (at most ${maxDepth} levels)`,
      type: 'value_error',
    });
  }

  if (metadata !== undefined && metadata !== null) {
    if (!isPlainObject(metadata)) issues.push(notObject([...loc, 'metadata']));
    else {
      for (const key in metadata) {
        if (typeof metadata[key] !== 'string') {
          issues.push({
            loc: [...loc, 'metadata', key],
            msg: 'Input should be a valid string',
            type: 'string_type',
          });
        }
      }
    }
  }

  if (ttl !== undefined && ttl !== null) {
    if (typeof ttl !== 'number' || !Number.isInteger(ttl)) {
      issues.push({
        loc: [...loc, 'ttl'],
        msg: 'Input should be a valid integer',
        type: 'int_type',
      });
    } else if (ttl < 1) {
      issues.push({
        loc: [...loc, 'ttl'],
        msg: 'Input should be greater than 0',
        type: 'greater_than',
      });
    } else if (ttl > MAX_TTL_SECONDS) {
      issues.push({
        loc: [...loc, 'ttl'],
        msg: `Input should be less than or equal to ${MAX_TTL_SECONDS}`,
        type: 'less_than_equal',
      });
    }
  }

  if (issues.length !== before) return null;
  return {
    topic: topic as string,
    payload: payload as Record<string, unknown>,
    metadata: (metadata ?? {}) as Record<string, string>,
    ttl: (ttl ?? undefined) as number | undefined,
  };
}

function hasKeys(value: object): boolean {
  for (const _key in value) return true;
  return false;
}

/**
 * `max_message_size` bounds the bytes of the JSON of payload and metadata. The payload's JSON is
 * kept on the message (`payloadJson`), so that a driver storing JSON does not serialise it again.
 */
function checkSize(message: NewMessage, limits: PublishLimits, index?: number): void {
  const payloadJson = JSON.stringify(message.payload);
  let size = Buffer.byteLength(payloadJson);
  if (hasKeys(message.metadata)) size += Buffer.byteLength(JSON.stringify(message.metadata));
  if (size > limits.maxMessageSize) {
    const which = index === undefined ? 'Message' : `Message at index ${index}`;
    throw new PayloadTooLargeError(
      `${which} exceeds the maximum message size of ${limits.maxMessageSize} bytes`,
    );
  }
  message.payloadJson = payloadJson;
}

/** `POST /api/v1/messages` body ⇒ the message to store; 422 (all issues) or 413. */
export function parsePublishBody(body: unknown, limits: PublishLimits): NewMessage {
  const issues: ValidationIssue[] = [];
  const message = readMessage(body, ['body'], issues, limits.maxPayloadDepth);
  if (!message) throw new RequestValidationError(issues);
  checkSize(message, limits);
  return message;
}

/** `POST /api/v1/messages/bulk` body ⇒ the messages to store, in order; 422 or 413. */
export function parseBulkBody(body: unknown, limits: PublishLimits): NewMessage[] {
  if (!isPlainObject(body)) throw new RequestValidationError([notObject(['body'])]);
  const raw = body.messages;
  const loc: Loc = ['body', 'messages'];
  if (raw === undefined) throw new RequestValidationError([missing(loc)]);
  if (!Array.isArray(raw)) {
    throw RequestValidationError.single(loc, 'Input should be a valid list', 'list_type');
  }
  if (raw.length < 1) {
    throw RequestValidationError.single(
      loc,
      'List should have at least 1 item after validation, not 0',
      'too_short',
    );
  }
  if (raw.length > limits.maxBulkMessages) {
    throw RequestValidationError.single(
      loc,
      `List should have at most ${limits.maxBulkMessages} items after validation, not ${raw.length}`,
      'too_long',
    );
  }
  const issues: ValidationIssue[] = [];
  const messages: NewMessage[] = new Array<NewMessage>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const message = readMessage(raw[i], ['body', 'messages', i], issues, limits.maxPayloadDepth);
    if (message) messages[i] = message;
  }
  if (issues.length > 0) throw new RequestValidationError(issues);
  for (let i = 0; i < messages.length; i++) checkSize(messages[i], limits, i);
  return messages;
}
