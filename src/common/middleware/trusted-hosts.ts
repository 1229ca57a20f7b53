/** Host header (port stripped) against patterns: exact, `*.suffix`, or `*` for any. */
export function isTrustedHost(
  hostHeader: string | undefined,
  patterns: readonly string[],
): boolean {
  if (patterns.includes('*')) return true;
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[')
    ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.replace(/:\d+$/, '');
  const lower = host.toLowerCase();
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.')
      ? lower.endsWith(p.slice(1)) && lower.length > p.length - 1
      : lower === p;
  });
}
