import type Router from '@koa/router';
import type { Middleware } from 'koa';
import compose from 'koa-compose';

import { underPathPrefixes } from './path-prefixes.js';

/**
 * A router's middleware, entered only for paths under `prefix` (the router's own prefix by default).
 * Every request passes the routers mounted before oidc-provider on its way to the token endpoint; this
 * costs it one string comparison per router instead of a router's pattern matching and middleware
 * composition, which add up on the hottest path we serve.
 */
export function routesUnder(router: Router, prefix: string | undefined = router.opts.prefix): Middleware {
  if (!prefix || !prefix.startsWith('/') || prefix.endsWith('/')) throw new Error(`routesUnder needs a path prefix such as /dashboard, got ${String(prefix)}`);
  // @koa/router types its middleware's context with the params it adds itself; any Koa context will do.
  const routes = router.routes() as unknown as Middleware;
  const isUnder = underPathPrefixes([prefix]);
  return function enterRouterUnderPrefix(ctx, next) {
    return isUnder(ctx.path) ? routes(ctx, next) : next();
  };
}

/** A router and the path prefix it serves (the router's own prefix by default). */
export interface RouterMount {
  router: Router;
  prefix?: string;
}

/**
 * Several routers as one middleware, in order, each entered only under its prefix as with routesUnder. A
 * request under none of the prefixes (every token request) passes with one loop over them, rather than
 * through a middleware per router; one under a prefix runs the whole sequence, so a router that does not
 * answer still falls through to the next one.
 */
export function routersUnder(mounts: readonly RouterMount[]): Middleware {
  const sequence = compose(mounts.map(({ router, prefix }) => routesUnder(router, prefix)));
  const isUnderAny = underPathPrefixes(mounts.map(({ router, prefix = router.opts.prefix }) => prefix as string));
  return function enterRoutersUnderPrefixes(ctx, next) {
    return isUnderAny(ctx.path) ? sequence(ctx, next) : next();
  };
}
