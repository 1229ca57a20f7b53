import { isoTime, messageIdTime } from '../../common/message-id';
import { idempotencyMarkerTtlSeconds, MessageStore, NewMessage, StoredMessage } from '../ports';
import { LuaScript } from './lua-script';
import { decodeEntry, isLive, RESET_FRAME } from './message-codec';
import { ValkeyContext } from './valkey-context';
import { storageCall } from './valkey-errors';

export interface StreamRetention {
  maxMessagesPerTopic: number;
  /** Seconds; 0 = no age limit. */
  maxAgeSeconds: number;
  /** `storage.idempotency_window` (seconds; default 600), which bounds idempotency markers. */
  idempotencyWindowSeconds?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW_SECONDS = 600;

/**
 * Appends a batch of one topic's messages: for each, XADD (trimmed by count) and the announcement
 * on the topic's channel, so that subscribers see the topic's messages in id order and a batch
 * keeps its order whatever else runs. A message with an idempotency marker first looks the marker
 * up: when present, the message was appended before (a retried request) and its id is returned
 * without appending; otherwise the marker (the id, expiring after the window plus the lease) is
 * written in the same step as the XADD, and indexed in the topic's marker set so that deleting the topic finds it.
 * Then the age trim; a stream that receives nothing for the whole retention period holds only
 * expired entries, so it expires as a whole.
 * KEYS: stream, marker index, then the marker keys. ARGV: maxlen, retention ms (0 = none),
 * channel, publish command, marker lifetime ms, then per message: payload JSON, metadata JSON or
 * '', ttl seconds or '', index in KEYS of its marker key or 0. Frames are concatenated: the parts
 * already are JSON.
 */
const APPEND = new LuaScript(`
local ids = {}
local markerTtl = tonumber(ARGV[5])
local last, marked = nil, false
for i = 6, #ARGV, 4 do
  local payload, metadata, ttl = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local marker = KEYS[tonumber(ARGV[i + 3])]
  local id = marker and redis.call('GET', marker)
  if not id then
    local fields = {'payload', payload}
    if metadata ~= '' then fields[#fields + 1] = 'metadata'; fields[#fields + 1] = metadata end
    if ttl ~= '' then fields[#fields + 1] = 'ttl'; fields[#fields + 1] = ttl end
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
    redis.call(ARGV[4], ARGV[3], '{"id":"' .. id .. '","ttl":' .. (ttl ~= '' and ttl or 'null') ..
      ',"metadata":' .. (metadata ~= '' and metadata or '{}') .. ',"payload":' .. payload .. '}')
    last = id
    if marker then
      redis.call('SET', marker, id, 'PX', markerTtl)
      local expires = tonumber(string.match(id, '^(%d+)')) + markerTtl
      redis.call('ZADD', KEYS[2], string.format('%.0f', expires), marker)
      marked = true
    end
  end
  ids[#ids + 1] = id
end
if last then
  local ms = tonumber(string.match(last, '^(%d+)'))
  if marked then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', ms))
    redis.call('PEXPIRE', KEYS[2], markerTtl)
  end
  local retention = tonumber(ARGV[2])
  if retention > 0 then
    redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - retention))
    redis.call('PEXPIRE', KEYS[1], retention)
  end
end
return ids
`);

/**
 * Deletes the stream and its idempotency markers (the keys listed in the marker index, all in
 * the topic's slot), and tells subscribed instances to forget what they cached of it.
 */
const DELETE_STREAM = new LuaScript(`
local markers = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #markers, 500 do
  redis.call('DEL', unpack(markers, i, math.min(i + 499, #markers)))
end
redis.call('DEL', KEYS[1], KEYS[2])
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
  private readonly markerTtlMs: number;

  constructor(
    private readonly ctx: ValkeyContext,
    private readonly retention: StreamRetention,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    this.markerTtlMs = Math.round(
      idempotencyMarkerTtlSeconds(
        retention.idempotencyWindowSeconds ?? DEFAULT_IDEMPOTENCY_WINDOW_SECONDS,
      ) * 1000,
    );
  }

  async append(input: NewMessage): Promise<StoredMessage> {
    return (await this.appendBatch(input.topic, [input]))[0];
  }

  /** One script call per topic: per-topic order holds even when calls overtake each other. */
  async appendMany(inputs: NewMessage[]): Promise<Array<StoredMessage | Error>> {
    const byTopic = new Map<string, number[]>();
    inputs.forEach((input, i) => {
      let indexes = byTopic.get(input.topic);
      if (!indexes) byTopic.set(input.topic, (indexes = []));
      indexes.push(i);
    });
    const results = new Array<StoredMessage | Error>(inputs.length);
    await Promise.all(
      [...byTopic].map(async ([topic, indexes]) => {
        try {
          const stored = await this.appendBatch(
            topic,
            indexes.map((i) => inputs[i]),
          );
          indexes.forEach((inputIndex, k) => (results[inputIndex] = stored[k]));
        } catch (err) {
          indexes.forEach((inputIndex) => (results[inputIndex] = asError(err)));
        }
      }),
    );
    return results;
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

  async readBefore(
    topic: string,
    beforeId: string | null,
    limit: number,
  ): Promise<StoredMessage[]> {
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

  async findMarker(topic: string, marker: string): Promise<string | null> {
    if (this.markerTtlMs <= 0) return null;
    return storageCall(() => this.ctx.client.get(this.ctx.keys.idempotencyMarker(topic, marker)));
  }

  async deleteTopic(topic: string): Promise<void> {
    const { keys, client } = this.ctx;
    await storageCall(() =>
      DELETE_STREAM.run(
        client,
        [keys.stream(topic), keys.idempotencyMarkers(topic)],
        [keys.topicChannel(topic), this.ctx.publishCommand, RESET_FRAME],
      ),
    );
  }

  private async appendBatch(topic: string, inputs: NewMessage[]): Promise<StoredMessage[]> {
    const { keys, client } = this.ctx;
    const scriptKeys = [keys.stream(topic), keys.idempotencyMarkers(topic)];
    const args: Array<string | number> = [
      this.retention.maxMessagesPerTopic,
      this.retention.maxAgeSeconds * 1000,
      keys.topicChannel(topic),
      this.ctx.publishCommand,
      this.markerTtlMs,
    ];
    for (const input of inputs) {
      const hasMetadata = Object.keys(input.metadata).length > 0;
      let markerKey = 0;
      if (input.idempotencyMarker !== undefined && this.markerTtlMs > 0) {
        markerKey = scriptKeys.push(keys.idempotencyMarker(topic, input.idempotencyMarker));
      }
      args.push(
        input.payloadJson ?? JSON.stringify(input.payload),
        hasMetadata ? JSON.stringify(input.metadata) : '',
        input.ttl ? String(input.ttl) : '',
        markerKey,
      );
    }
    const ids = (await storageCall(() => APPEND.run(client, scriptKeys, args))) as string[];
    return inputs.map((input, i) => {
      const ms = messageIdTime(ids[i]);
      return {
        id: ids[i],
        topic,
        payload: input.payload,
        metadata: input.metadata,
        timestamp: isoTime(ms),
        expiresAt: input.ttl ? ms + input.ttl * 1000 : null,
      };
    });
  }

  private ageCutoff(now: number): number {
    return this.retention.maxAgeSeconds > 0 ? now - this.retention.maxAgeSeconds * 1000 : 0;
  }
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
