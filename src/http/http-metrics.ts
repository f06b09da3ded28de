import { performance } from 'node:perf_hooks';

import type { Context, Next } from 'koa';
import type { Histogram } from 'prom-client';

/**
 * Observes request duration by route template (`/clients/:clientId`, never a raw path, which would
 * carry ids and explode the series count). Routers (ours and oidc-provider's) set `_matchedRoute`.
 */
export function observeRequestDuration(histogram: Histogram<'route' | 'method' | 'status'>) {
  // Labelled series resolved once each: prom-client's timer merges and validates label objects per call.
  // Bounded: route templates, the methods Node's HTTP parser accepts, five status classes.
  const series = new Map<string, ReturnType<typeof histogram.labels>>();
  return async function timeRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
      const route = typeof matched === 'string' ? matched : 'unmatched';
      const status = `${Math.floor(ctx.status / 100)}xx`;
      const key = `${route} ${ctx.method} ${status}`;
      let observer = series.get(key);
      if (!observer) {
        observer = histogram.labels(route, ctx.method, status);
        series.set(key, observer);
      }
      observer.observe((performance.now() - started) / 1000);
    }
  };
}
