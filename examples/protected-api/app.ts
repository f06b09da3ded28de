import Router from '@koa/router';
import Koa from 'koa';

import { requireAuthToken, type AuthTokenPrincipal, type ResourceServerOptions } from '../../src/resource-server/index.js';

/**
 * A small API protected by AuthTokens (in a project of your own, import from 'authtoken-server/resource-server').
 * GET /hello needs the `api:read` scope; GET /admin also needs the `admin` role.
 */
export function createProtectedApi(options: Omit<ResourceServerOptions, 'scopes' | 'roles'>): Koa {
  const readers = requireAuthToken({ ...options, scopes: ['api:read'] });
  const admins = requireAuthToken({ ...options, scopes: ['api:read'], roles: ['admin'] });
  const router = new Router();
  router.get('/hello', readers, (ctx) => {
    const principal = ctx.state.authToken as AuthTokenPrincipal;
    ctx.body = { hello: principal.customerId ?? principal.clientId, scopes: principal.scopes };
  });
  router.get('/admin', admins, (ctx) => {
    ctx.body = { ok: true };
  });
  const app = new Koa();
  app.use(router.routes());
  return app;
}
