import type Router from '@koa/router';
import type { Middleware } from 'koa';

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
  const nested = `${prefix}/`;
  return function enterRouterUnderPrefix(ctx, next) {
    return ctx.path === prefix || ctx.path.startsWith(nested) ? routes(ctx, next) : next();
  };
}
