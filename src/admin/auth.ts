import { createHash, timingSafeEqual } from 'node:crypto';

import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';
import { AdminApiError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

const REALM = 'realm="authtoken-admin"';

/** What the request's Authorization header holds, as RFC 6750 3.1 tells the cases apart. */
type PresentedAdminToken = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/**
 * `Bearer <token>` (RFC 6750 2.1: the scheme in any case, then one or more spaces, then one token). Anything
 * else in the header (another scheme, no token, two tokens) is malformed, as are two different Authorization
 * lines: Node's ctx.get keeps the first, which need not be the one a proxy in front checked. The token's
 * characters are not held to b64token: ADMIN_TOKEN may be any 32+ characters, and a deployment whose token
 * has others must keep working.
 */
function presentedAdminToken(ctx: Context): PresentedAdminToken {
  if (new Set(ctx.req.headersDistinct.authorization ?? []).size > 1) return { kind: 'malformed' };
  const authorization = ctx.get('authorization');
  if (!authorization) return { kind: 'missing' };
  const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  return token ? { kind: 'token', token } : { kind: 'malformed' };
}

/**
 * A refusal with its RFC 6750 3 challenge; the error boundary adds Cache-Control: no-store. Descriptions are
 * fixed ASCII without quotes or backslashes, as the challenge's quoted string needs.
 */
function refusal(ctx: Context, status: 400 | 401, error: string | undefined, description: string): AdminApiError {
  // RFC 6750 3.1: no error code when the request carried no credentials at all.
  ctx.set('WWW-Authenticate', error ? `Bearer ${REALM}, error="${error}", error_description="${description}"` : `Bearer ${REALM}`);
  return new AdminApiError(status, error ?? 'unauthorized', description);
}

/**
 * Requires `Authorization: Bearer ADMIN_TOKEN`, answering as RFC 6750 3.1 says: no header is 401 with a bare
 * challenge, a wrong token 401 `invalid_token`, a malformed header 400 `invalid_request`. Both sides are
 * hashed first so the comparison takes the same time whatever the presented value's length or content.
 */
export function requireAdminToken(adminToken: string, logger: Logger) {
  const expected = digest(adminToken);
  return async function checkAdminToken(ctx: Context, next: Next): Promise<void> {
    const presented = presentedAdminToken(ctx);
    if (presented.kind === 'token' && timingSafeEqual(digest(presented.token), expected)) {
      await next();
      return;
    }
    const outcome = presented.kind === 'token' ? 'wrong token' : presented.kind === 'missing' ? 'no token' : 'malformed Authorization header';
    logger.warn({ path: ctx.path, ip: ctx.ip, presented: outcome }, 'admin API: unauthenticated request refused');
    if (presented.kind === 'missing') throw refusal(ctx, 401, undefined, 'an admin bearer token is required');
    if (presented.kind === 'malformed') throw refusal(ctx, 400, 'invalid_request', 'the Authorization header must be Bearer, a space and the admin token');
    throw refusal(ctx, 401, 'invalid_token', "the bearer token is not this server's ADMIN_TOKEN");
  };
}
