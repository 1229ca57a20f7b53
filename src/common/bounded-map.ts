/**
 * Sets `key` in a map used as a bounded cache: the entry moves to the end (a Map keeps insertion
 * order), and when the map already holds `max` entries the oldest one is dropped first.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
