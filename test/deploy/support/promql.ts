/** Metric names used by PromQL expressions (enough PromQL for dashboards and alert rules). */

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
  'atan2',
]);

export function metricNamesInPromQL(expr: string): string[] {
  let s = expr;
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // strings (label values)
  s = s.replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ' '); // Grafana variables ($__rate_interval)
  s = s.replace(/\{[^}]*\}/g, ' '); // label matchers
  s = s.replace(/\[[^\]]*\]/g, ' '); // range and subquery selectors
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  const identifier = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  let match: RegExpExecArray | null;
  while ((match = identifier.exec(s))) {
    const name = match[0];
    const before = s[match.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 1e-9, 0.99
    const rest = s.slice(match.index + name.length);
    if (/^\s*\(/.test(rest)) continue; // function call
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Grafana label_values(metric, label) / query_result(expr) variable queries. */
export function metricNamesInGrafanaVariable(query: string): string[] {
  const labelValues = /label_values\(\s*([^,)]+?)\s*,/.exec(query);
  if (labelValues) return metricNamesInPromQL(labelValues[1]);
  const queryResult = /query_result\((.*)\)\s*$/.exec(query);
  if (queryResult) return metricNamesInPromQL(queryResult[1]);
  const metrics = /metrics\(([^)]*)\)/.exec(query);
  if (metrics) return [metrics[1].trim()];
  return [];
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows included) and variables. */
export function grafanaDashboardQueries(dashboard: any): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: any[] | undefined): void => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr.trim())
          out.push({ panel: panel.title, expr: target.expr });
      }
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (typeof query === 'string') {
      for (const name of metricNamesInGrafanaVariable(query))
        out.push({ panel: `$${variable.name}`, expr: name });
    }
  }
  return out;
}

/** `# TYPE name kind` lines of a Prometheus text exposition. */
export function exportedMetricTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line);
    if (m) types.set(m[1], m[2]);
  }
  return types;
}

/**
 * Resolves a queried series name against the exported families: histogram series
 * (`_bucket`, `_sum`, `_count`) and summary series (`_sum`, `_count`) map to their family.
 * Returns the family, or an error text.
 */
export function resolveSeries(
  name: string,
  types: Map<string, string>,
): { family?: string; error?: string } {
  const type = types.get(name);
  if (type === 'histogram' || type === 'summary') {
    return {
      error: `${name} is a ${type}: query ${name}_bucket / _sum / _count, not the family name`,
    };
  }
  if (type) return { family: name };
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const family = name.slice(0, -suffix.length);
    const familyType = types.get(family);
    if (familyType === 'histogram' || (familyType === 'summary' && suffix !== '_bucket'))
      return { family };
    if (familyType)
      return { error: `${name}: ${family} is a ${familyType}, it has no ${suffix} series` };
  }
  return { error: `${name} is not exported by the relay` };
}
