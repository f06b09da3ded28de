import Router from '@koa/router';

import type { AuditLog } from '../../audit/index.js';
import { lookUpOpaqueToken, type Provider } from '../../provider/index.js';
import type { Store } from '../../store/index.js';
import { recordAdminAction } from '../audit-trail.js';
import { AdminApiError, notFound } from '../errors.js';
import { tokenRequest } from '../schemas.js';
import { parseBody } from '../validation.js';

const STRUCTURED = new AdminApiError(
  400,
  'unsupported_token_type',
  'JWT access tokens are not stored; the admin API introspects and revokes opaque tokens only',
);

/** Any opaque token, whichever client holds it: introspect (RFC 7662 fields) or revoke. */
export function tokenRoutes(deps: { provider: Provider; store: Store; audit: AuditLog }): Router {
  const { provider, store, audit } = deps;
  const router = new Router();

  router.post('/tokens/introspect', async (ctx) => {
    const { token } = parseBody(ctx, tokenRequest);
    const lookup = await lookUpOpaqueToken(provider, store, token);
    if (!lookup.found && lookup.reason === 'structured') throw STRUCTURED;
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
    const lookup = await lookUpOpaqueToken(provider, store, token);
    if (!lookup.found) throw lookup.reason === 'structured' ? STRUCTURED : notFound('token');
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
