import { performance } from 'node:perf_hooks';

import type { Context, Next } from 'koa';

import type { BucketCountingHistogram, HistogramSeries } from './bucket-counting-histogram.js';

type RequestLabel = 'route' | 'method' | 'status';

/** Status classes by hundreds digit: the label values, and the slots of a method's series. */
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Observes request duration by route template (`/clients/:clientId`, never a raw path, which would
 * carry ids and explode the series count). Routers (ours and oidc-provider's) set `_matchedRoute`.
 */
export function observeRequestDuration(histogram: BucketCountingHistogram<RequestLabel>) {
  // Series resolved once each, by route, then method, then status class: no key string built per request.
  // Bounded: route templates, the methods Node's HTTP parser accepts, six status classes.
  const byRoute = new Map<string, Map<string, (HistogramSeries | undefined)[]>>();
  const seriesFor = (route: string, method: string, statusClass: number): HistogramSeries => {
    let byMethod = byRoute.get(route);
    if (!byMethod) {
      byMethod = new Map();
      byRoute.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = [];
      byMethod.set(method, byStatus);
    }
    let series = byStatus[statusClass];
    if (!series) {
      series = histogram.series(route, method, STATUS_CLASSES[statusClass] as string);
      byStatus[statusClass] = series;
    }
    return series;
  };
  return async function timeRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
      const statusClass = Math.min(Math.max(Math.floor(ctx.status / 100), 0), 5);
      seriesFor(typeof matched === 'string' ? matched : 'unmatched', ctx.method, statusClass).observe((performance.now() - started) / 1000);
    }
  };
}
