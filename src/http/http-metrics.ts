import type { Context, Next } from 'koa';
import type { Histogram } from 'prom-client';

/**
 * Observes request duration by route template (`/clients/:clientId`, never a raw path, which would
 * carry ids and explode the series count). Routers (ours and oidc-provider's) set `_matchedRoute`.
 */
export function observeRequestDuration(histogram: Histogram<'route' | 'method' | 'status'>) {
  return async function timeRequest(ctx: Context, next: Next): Promise<void> {
    const stopTimer = histogram.startTimer();
    try {
      await next();
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: unknown })._matchedRoute;
      stopTimer({
        route: typeof matched === 'string' ? matched : 'unmatched',
        method: ctx.method,
        status: `${Math.floor(ctx.status / 100)}xx`,
      });
    }
  };
}
