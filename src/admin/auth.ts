import { createHash, timingSafeEqual } from 'node:crypto';

import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';
import { AdminApiError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Requires `Authorization: Bearer ADMIN_TOKEN`. Both sides are hashed first so the comparison takes the
 * same time whatever the presented value's length or content.
 */
export function requireAdminToken(adminToken: string, logger: Logger) {
  const expected = digest(adminToken);
  return async function checkAdminToken(ctx: Context, next: Next): Promise<void> {
    const match = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'));
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="authtoken-admin"');
      logger.warn({ path: ctx.path, ip: ctx.ip, presented: match ? 'wrong token' : 'no token' }, 'admin API: unauthenticated request refused');
      throw new AdminApiError(401, 'unauthorized', 'a valid admin bearer token is required');
    }
    await next();
  };
}
