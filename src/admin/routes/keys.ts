import Router from '@koa/router';

import type { AuditLog } from '../../audit/index.js';
import type { SigningKeyInfo, SigningKeyRotation } from '../../provider/index.js';
import { recordAdminAction } from '../audit-trail.js';
import { rotateKeyRequest } from '../schemas.js';
import { parseBody } from '../validation.js';

/** A key as operators see it: its public half and its schedule, never the private key. */
export function signingKeyJson(key: SigningKeyInfo) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
    ...(key.retiresAt ? { retires_at: key.retiresAt.toISOString() } : {}),
    ...(key.unpublishedAt ? { unpublished_at: key.unpublishedAt.toISOString() } : {}),
    public_jwk: key.publicJwk,
  };
}

/** Signing keys: list, and rotate without a restart (the token-lifecycle module does the work). */
export function keyRoutes({ signingKeys, audit }: { signingKeys: SigningKeyRotation; audit: AuditLog }): Router {
  const router = new Router();

  router.get('/keys', async (ctx) => {
    ctx.body = (await signingKeys.listSigningKeys()).map(signingKeyJson);
  });

  router.post('/keys/rotate', async (ctx) => {
    const { alg } = parseBody(ctx, rotateKeyRequest);
    const created = await signingKeys.rotateSigningKeys(alg);
    await recordAdminAction(ctx, audit, { action: 'admin.keys.rotated', details: { alg, kid: created.kid } });
    ctx.status = 201;
    ctx.body = signingKeyJson(created);
  });

  return router;
}
