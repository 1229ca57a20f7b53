import { KeyValueStore } from '../ports';
import { LuaScript } from './lua-script';
import { ValkeyContext } from './valkey-context';
import { storageCall } from './valkey-errors';

/** A fixed window: the first increment (or one finding no expiry) starts it. */
const INCREMENT = new LuaScript(`
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`);

const toMs = (seconds: number): number => Math.max(1, Math.round(seconds * 1000));

/** Plain string keys (`kv:<key>`) with millisecond expiry. */
export class ValkeyKeyValueStore extends KeyValueStore {
  constructor(private readonly ctx: ValkeyContext) {
    super();
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const fullKey = this.ctx.keys.kv(key);
    const reply = await storageCall(() =>
      ttlSeconds > 0
        ? this.ctx.client.set(fullKey, value, 'PX', toMs(ttlSeconds), 'NX')
        : this.ctx.client.set(fullKey, value, 'NX'),
    );
    return reply === 'OK';
  }

  async get(key: string): Promise<string | null> {
    return storageCall(() => this.ctx.client.get(this.ctx.keys.kv(key)));
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    const fullKey = this.ctx.keys.kv(key);
    await storageCall(() =>
      ttlSeconds > 0
        ? this.ctx.client.set(fullKey, value, 'PX', toMs(ttlSeconds))
        : this.ctx.client.set(fullKey, value),
    );
  }

  async delete(key: string): Promise<void> {
    await storageCall(() => this.ctx.client.del(this.ctx.keys.kv(key)));
  }

  async increment(key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
    const reply = await storageCall(() =>
      INCREMENT.run(this.ctx.client, [this.ctx.keys.kv(key)], [toMs(windowSeconds)]),
    );
    const [count, ttlMs] = reply as [number, number];
    return { count, ttlMs };
  }
}
