/** Helpers to map records to flat hash fields and back (absent field = null). */

export type HashFields = Record<string, string>;

/** `HGETALL` as a script returns it: `[field, value, field, value, ...]`. */
export function pairsToHash(pairs: unknown): HashFields | null {
  if (!Array.isArray(pairs) || pairs.length === 0) return null;
  const hash: HashFields = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[String(pairs[i])] = String(pairs[i + 1]);
  return hash;
}

/** Field/value pairs for HSET, skipping null values. */
export function hashToPairs(hash: Record<string, string | null>): string[] {
  const pairs: string[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (value !== null) pairs.push(field, value);
  }
  return pairs;
}

/** Names of the fields to remove because their new value is null. */
export function nullFields(hash: Record<string, string | null>): string[] {
  return Object.entries(hash)
    .filter(([, value]) => value === null)
    .map(([field]) => field);
}

export const flag = (value: boolean): string => (value ? '1' : '0');
export const isFlagSet = (value: string | undefined): boolean => value === '1';
