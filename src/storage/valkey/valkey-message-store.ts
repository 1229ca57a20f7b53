import { messageIdTime } from '../../common/message-id';
import { MessageStore, NewMessage, StoredMessage } from '../ports';
import { LuaScript } from './lua-script';
import { decodeEntry, isLive, RESET_FRAME } from './message-codec';
import { ValkeyContext } from './valkey-connection-context';
import { storageCall } from './valkey-errors';

export interface StreamRetention {
  maxMessagesPerTopic: number;
  /** Seconds; 0 = no age limit. */
  maxAgeSeconds: number;
}

/**
 * XADD (trimmed by count and, when set, by age) and the announcement on the topic's channel in
 * one step, so that subscribers see every topic's messages in id order. A stream that receives
 * nothing for the whole retention period holds only expired entries: it expires as a whole.
 * The frame is built by concatenation because ARGV[1] and ARGV[2] already are JSON.
 */
const APPEND = new LuaScript(`
local fields = {'payload', ARGV[1]}
if ARGV[2] ~= '' then fields[#fields + 1] = 'metadata'; fields[#fields + 1] = ARGV[2] end
if ARGV[3] ~= '' then fields[#fields + 1] = 'ttl'; fields[#fields + 1] = ARGV[3] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
local retention = tonumber(ARGV[5])
if retention > 0 then
  local ms = tonumber(string.match(id, '^(%d+)'))
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - retention))
  redis.call('PEXPIRE', KEYS[1], retention)
end
local ttl = ARGV[3] ~= '' and ARGV[3] or 'null'
local metadata = ARGV[2] ~= '' and ARGV[2] or '{}'
redis.call(ARGV[7], ARGV[6],
  '{"id":"' .. id .. '","ttl":' .. ttl .. ',"metadata":' .. metadata .. ',"payload":' .. ARGV[1] .. '}')
return id
`);

/** Deletes the stream and tells subscribed instances to forget what they cached of it. */
const DELETE_STREAM = new LuaScript(`
redis.call('DEL', KEYS[1])
redis.call(ARGV[2], ARGV[1], ARGV[3])
return 1
`);

const MIN_ID = '0-0';
const MAX_ID = '18446744073709551615-18446744073709551615';
/** Entries fetched per round trip at least, so that runs of expired entries cost few trips. */
const MIN_BATCH = 64;

type StreamEntry = [id: string, fields: string[]];

/** Messages of each topic in one stream (`XADD *` ids), TTL and age retention applied on read. */
export class ValkeyMessageStore extends MessageStore {
  constructor(
    private readonly ctx: ValkeyContext,
    private readonly retention: StreamRetention,
    private readonly clock: () => number = Date.now,
  ) {
    super();
  }

  async append(input: NewMessage): Promise<StoredMessage> {
    const { keys, client } = this.ctx;
    const hasMetadata = Object.keys(input.metadata).length > 0;
    const ttl = input.ttl ? input.ttl : null;
    const id = await storageCall(() =>
      APPEND.run(
        client,
        [keys.stream(input.topic)],
        [
          JSON.stringify(input.payload),
          hasMetadata ? JSON.stringify(input.metadata) : '',
          ttl === null ? '' : String(ttl),
          this.retention.maxMessagesPerTopic,
          this.retention.maxAgeSeconds * 1000,
          keys.topicChannel(input.topic),
          this.ctx.publishCommand,
        ],
      ),
    );
    const ms = messageIdTime(id as string);
    return {
      id: id as string,
      topic: input.topic,
      payload: input.payload,
      metadata: input.metadata,
      timestamp: new Date(ms).toISOString(),
      expiresAt: ttl === null ? null : ms + ttl * 1000,
    };
  }

  /** Concurrent calls share one auto-pipelined write; per-topic order is the input order. */
  async appendMany(inputs: NewMessage[]): Promise<Array<StoredMessage | Error>> {
    const settled = await Promise.allSettled(inputs.map((input) => this.append(input)));
    return settled.map((result) =>
      result.status === 'fulfilled' ? result.value : asError(result.reason),
    );
  }

  async readAfter(topic: string, afterId: string | null, limit: number): Promise<StoredMessage[]> {
    if (limit <= 0 || afterId === MAX_ID) return [];
    const key = this.ctx.keys.stream(topic);
    const now = this.clock();
    const cutoff = this.ageCutoff(now);
    const out: StoredMessage[] = [];
    let start = afterId === null ? '-' : `(${afterId}`;
    while (out.length < limit) {
      const count = Math.max(limit - out.length, MIN_BATCH);
      const batch = await storageCall<StreamEntry[]>(() =>
        this.ctx.client.xrange(key, start, '+', 'COUNT', count),
      );
      for (const [id, fields] of batch) {
        if (messageIdTime(id) < cutoff) continue;
        const message = decodeEntry(topic, id, fields);
        if (isLive(message, now)) out.push(message);
        if (out.length === limit) break;
      }
      if (batch.length < count) break;
      start = `(${batch[batch.length - 1][0]}`;
    }
    return out;
  }

  async readBefore(topic: string, beforeId: string | null, limit: number): Promise<StoredMessage[]> {
    if (limit <= 0 || beforeId === MIN_ID) return [];
    const key = this.ctx.keys.stream(topic);
    const now = this.clock();
    const cutoff = this.ageCutoff(now);
    const out: StoredMessage[] = [];
    let end = beforeId === null ? '+' : `(${beforeId}`;
    while (out.length < limit) {
      const count = Math.max(limit - out.length, MIN_BATCH);
      const batch = await storageCall<StreamEntry[]>(() =>
        this.ctx.client.xrevrange(key, end, '-', 'COUNT', count),
      );
      for (const [id, fields] of batch) {
        if (messageIdTime(id) < cutoff) return out;
        const message = decodeEntry(topic, id, fields);
        if (isLive(message, now)) out.push(message);
        if (out.length === limit) break;
      }
      if (batch.length < count) break;
      end = `(${batch[batch.length - 1][0]}`;
    }
    return out;
  }

  async lastId(topic: string): Promise<string | null> {
    const newest = await storageCall<StreamEntry[]>(() =>
      this.ctx.client.xrevrange(this.ctx.keys.stream(topic), '+', '-', 'COUNT', 1),
    );
    return newest.length ? newest[0][0] : null;
  }

  async count(topic: string): Promise<number> {
    return storageCall(() => this.ctx.client.xlen(this.ctx.keys.stream(topic)));
  }

  async deleteTopic(topic: string): Promise<void> {
    const { keys, client } = this.ctx;
    await storageCall(() =>
      DELETE_STREAM.run(
        client,
        [keys.stream(topic)],
        [keys.topicChannel(topic), this.ctx.publishCommand, RESET_FRAME],
      ),
    );
  }

  private ageCutoff(now: number): number {
    return this.retention.maxAgeSeconds > 0 ? now - this.retention.maxAgeSeconds * 1000 : 0;
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
