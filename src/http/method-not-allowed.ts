import type Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';

import { respondWithError } from './errors.js';

/** The methods something serves at a path; none when it serves nothing there. */
export type MethodsAtPath = (path: string) => Iterable<string>;

/** Allow lists methods in this order (RFC 9110 sets none; a fixed one keeps the header stable). */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Every method a router in this app may register: the ones the path lookups ask about. */
export const KNOWN_METHODS: readonly string[] = METHOD_ORDER;

const byMethodOrder = (a: string, b: string) => {
  const rank = (method: string) => (METHOD_ORDER.includes(method) ? METHOD_ORDER.indexOf(method) : METHOD_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
};

/**
 * The methods of a @koa/router's routes at a path, read from the router's own route table (prefixes and nested
 * routers included), so the answer cannot drift from what the router serves. Its middleware layers (`use`)
 * match paths but serve no method, and add none.
 */
export function routerMethods(router: Router): MethodsAtPath {
  return (path) => router.match(path, 'GET').path.flatMap((layer) => layer.methods);
}

/** The union of what the sources serve at a path, in Allow order. */
export function methodsAt(sources: readonly MethodsAtPath[], path: string): string[] {
  const methods = new Set<string>();
  for (const source of sources) for (const method of source(path)) methods.add(method);
  return [...methods].sort(byMethodOrder);
}

/**
 * The last middleware: reached only when nothing answered. A path some route serves, asked with a method none
 * of its routes takes (GET /token), is RFC 9110 15.5.6's 405 with an Allow header listing what the path does
 * take, in the form of the path's errors (RFC 6749 JSON on the OAuth endpoints, the Generate Token API's own
 * envelope on its route, a page under the pages' prefixes). Any other path is left to the 404 of errorBoundary.
 * OPTIONS is one more method here: the paths that answer CORS preflights (oidc-provider's) register it.
 */
export function answerMethodNotAllowed(sources: readonly MethodsAtPath[]): Middleware {
  return async function answerUnservedMethod(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const allowed = methodsAt(sources, ctx.path);
    if (allowed.length === 0 || allowed.includes(ctx.method)) return;
    ctx.set('Allow', allowed.join(', '));
    // HEAD and OPTIONS say nothing of how to call the endpoint: named only when the path serves nothing else.
    const usable = allowed.filter((method) => method !== 'HEAD' && method !== 'OPTIONS');
    respondWithError(ctx, 405, 'invalid_request', `${ctx.method} is not allowed at this endpoint: use ${(usable.length > 0 ? usable : allowed).join(' or ')}`);
  };
}
