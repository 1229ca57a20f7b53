import { LuaScript } from './lua-script';
import { ValkeyClient } from './valkey-connection';

/** HDEL only when the field still holds the value we saw, so a newer entry survives a late delete. */
const REMOVE_IF = new LuaScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`);

/**
 * A global index (one hash, name → id) of records that live under their own hash tags. A cluster
 * cannot update both in one step, so the index may briefly hold a name whose record is gone;
 * readers check each record and call `removeIf` for such ghosts.
 */
export class IndexHash {
  constructor(
    private readonly client: ValkeyClient,
    private readonly key: string,
  ) {}

  async add(field: string, value: string): Promise<void> {
    await this.client.hset(this.key, field, value);
  }

  async get(field: string): Promise<string | null> {
    return this.client.hget(this.key, field);
  }

  async all(): Promise<Record<string, string>> {
    return this.client.hgetall(this.key);
  }

  async removeIf(field: string, value: string): Promise<void> {
    await REMOVE_IF.run(this.client, [this.key], [field, value]);
  }
}
