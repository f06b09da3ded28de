import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';
import { respondWithError } from './errors.js';
import { underPathPrefixes } from './path-prefixes.js';

/** Paths whose answers set Secure cookies (sign-in pages and the flows that lead to them). */
const COOKIE_PATHS = ['/auth', '/interaction', '/session', '/dashboard', '/account'];
const isCookiePath = underPathPrefixes(COOKIE_PATHS);

/**
 * With an https issuer, cookies are Secure and cannot be sent over plain http: oidc-provider would fail
 * with a 500. Say what is wrong instead (a page for people, one warning in the log for the operator,
 * who most likely runs behind a TLS-terminating proxy without TRUST_PROXY=true).
 */
export function requireHttpsForCookies(issuer: string, logger: Logger) {
  const issuerIsHttps = issuer.startsWith('https:');
  let warned = false;
  // Not async: a plain pass-through adds no frame (and no extra promise) to every request.
  return function checkTransport(ctx: Context, next: Next): Promise<void> {
    if (issuerIsHttps && !ctx.secure && isCookiePath(ctx.path)) {
      if (!warned) {
        warned = true;
        logger.warn('a sign-in request arrived over plain http while ISSUER is https; behind a TLS-terminating proxy, set TRUST_PROXY=true');
      }
      respondWithError(ctx, 400, 'invalid_request', 'this page must be reached over https');
      return Promise.resolve();
    }
    return next();
  };
}
