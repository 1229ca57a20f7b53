const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `30`, `30s`, `10m`, `24h`, `7d`, `500ms` into seconds; returns null when unparseable. */
export function parseDurationSeconds(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!match) return null;
  return Number(match[1]) * UNIT_SECONDS[(match[2] ?? 's').toLowerCase()];
}
