import { HttpAdapterHost } from '@nestjs/core';

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  match?: (path: string) => boolean;
}

/** Methods registered for `path` (to answer 405 instead of 404 for a known path). */
export function allowedMethods(adapterHost: HttpAdapterHost, path: string): string[] {
  const instance = adapterHost.httpAdapter?.getInstance<{ router?: { stack?: RouterLayer[] } }>();
  const stack = instance?.router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    // Middleware mounted on every path shows up as a catch-all route; it says nothing of methods.
    if (!layer.route || layer.route.path.includes('*') || typeof layer.match !== 'function')
      continue;
    try {
      if (!layer.match(path)) continue;
    } catch {
      continue;
    }
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  return [...methods].sort();
}
