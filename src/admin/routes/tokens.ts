import Router from '@koa/router';

import type { AuditLog } from '../../audit/index.js';
import { lookUpToken, type JwtAccessTokenChecks, type Provider } from '../../provider/index.js';
import type { Store } from '../../store/index.js';
import { recordAdminAction } from '../audit-trail.js';
import { notFound } from '../errors.js';
import { tokenRequest } from '../schemas.js';
import { parseBody } from '../validation.js';

/**
 * Any token we issued (opaque or JWT), whichever client holds it: introspect (RFC 7662 fields) or revoke.
 * The provider is read per request: it is replaced when signing keys rotate.
 */
export function tokenRoutes(deps: { currentProvider: () => Provider; jwts: JwtAccessTokenChecks; store: Store; audit: AuditLog }): Router {
  const { currentProvider, jwts, store, audit } = deps;
  const router = new Router();

  router.post('/tokens/introspect', async (ctx) => {
    const { token } = parseBody(ctx, tokenRequest);
    const lookup = await lookUpToken(currentProvider(), store, token, jwts);
    const description = lookup.found ? lookup.description : { active: false };
    await recordAdminAction(ctx, audit, {
      action: 'admin.token.introspected',
      ...(description.client_id ? { clientId: description.client_id } : {}),
      ...(description.sub ? { accountId: description.sub } : {}),
      details: { active: description.active },
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = description;
  });

  router.post('/tokens/revoke', async (ctx) => {
    const { token } = parseBody(ctx, tokenRequest);
    const lookup = await lookUpToken(currentProvider(), store, token, jwts);
    if (!lookup.found || !lookup.description.active) throw notFound('active token');
    await lookup.revoke();
    const { client_id: clientId, sub, token_type: tokenType } = lookup.description;
    await recordAdminAction(ctx, audit, {
      action: 'admin.token.revoked',
      ...(clientId ? { clientId } : {}),
      ...(sub ? { accountId: sub } : {}),
      ...(tokenType ? { details: { token_type: tokenType } } : {}),
    });
    ctx.body = { revoked: true, token_type: tokenType ?? 'access_token' };
  });

  return router;
}
