import type { Context, Next } from 'koa';

/**
 * RFC 6749 5.1: an answer carrying a token or a credential is sent with `Cache-Control: no-store` and
 * `Pragma: no-cache` (for HTTP/1.0 caches, which know no Cache-Control). Each answer says no-store where it is
 * made, oidc-provider's included (lib/shared/no_cache.js sets only that header); this adds the Pragma to every
 * answer that ends up with no-store, error answers included. It must run outside the error boundary, whose
 * error answers are set after the routes have thrown.
 */
export function pragmaWithNoStore() {
  return async function addPragmaToNoStore(ctx: Context, next: Next): Promise<void> {
    await next();
    // Node's getHeader: undefined when unset, an array when set as one.
    const cacheControl: unknown = ctx.response.get('Cache-Control');
    if (cacheControl === undefined) return;
    const directives = Array.isArray(cacheControl) ? cacheControl.join(',') : String(cacheControl);
    if (directives.toLowerCase().includes('no-store')) ctx.set('Pragma', 'no-cache');
  };
}
