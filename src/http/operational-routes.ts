import type { Context, Middleware, Next } from 'koa';

export type ExactRouteHandler = (ctx: Context) => void | Promise<void>;

const EXACT_ROUTE_METHODS: readonly string[] = ['GET', 'HEAD'];

/** What exactRoutes serves at a path (for the Allow header of a 405): read from the same table. */
export function exactRouteMethods(routes: Record<string, ExactRouteHandler>): (path: string) => readonly string[] {
  const table = new Map(Object.entries(routes));
  return (path) => (table.has(path) ? EXACT_ROUTE_METHODS : []);
}

/**
 * GET/HEAD routes on exact paths (health checks, the stylesheet) answered by one map lookup. Every other
 * request, token requests included, passes through at the cost of that lookup instead of a router's
 * pattern matching.
 */
export function exactRoutes(routes: Record<string, ExactRouteHandler>): Middleware {
  const table = new Map(Object.entries(routes));
  // Not async: the requests passing through get next()'s own promise, with no frame of ours around it.
  return function routeExactPaths(ctx: Context, next: Next): Promise<void> {
    const handler = table.get(ctx.path);
    if (!handler || !EXACT_ROUTE_METHODS.includes(ctx.method)) return next();
    // As a router would: request metrics label requests by their matched route (here, the exact path).
    (ctx as Context & { _matchedRoute?: string })._matchedRoute = ctx.path;
    return Promise.resolve(handler(ctx));
  };
}
