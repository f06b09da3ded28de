import Router from '@koa/router';
import Koa from 'koa';

import type { Application } from '../app.js';
import type { Config } from '../config/index.js';
import { MAX_BODY_BYTES } from '../http/errors.js';
import { pragmaWithNoStore } from '../http/no-store-pragma.js';
import { applyProxyTrust } from '../http/proxy-trust.js';
import { requestBodyParser } from '../http/request-body.js';
import { requestLog } from '../http/request-log.js';
import type { Logger } from '../log/index.js';
import { requireAdminToken } from './auth.js';
import { adminErrorBoundary } from './errors.js';
import { adminOpenApiDocument } from './openapi.js';
import { auditRoutes } from './routes/audit.js';
import { clientRoutes } from './routes/clients.js';
import { keyRoutes } from './routes/keys.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';

/**
 * The admin REST API: its own Koa app for its own port (like Hydra's admin port), bearer-token protected
 * except for /metrics and /openapi.json, which carry no secrets.
 */
export function createAdminApp(config: Config, application: Application, adminToken: string, logger: Logger): Koa {
  const { audit, clients, store, metrics, accounts, mfa, revocation, signingKeys } = application;
  const adminLogger = logger.child({ component: 'admin' });
  const app = new Koa();
  app.silent = true;
  applyProxyTrust(app, config);
  app.use(requestLog(adminLogger));
  app.use(pragmaWithNoStore());
  app.use(adminErrorBoundary(adminLogger));

  const open = new Router();
  const openApiDocument = adminOpenApiDocument();
  open.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument;
  });
  open.get('/metrics', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  app.use(open.routes());

  app.use(requireAdminToken(adminToken, adminLogger));
  app.use(requestBodyParser({ enableTypes: ['json'], jsonLimit: MAX_BODY_BYTES, encoding: 'utf-8' }));
  const routers = [
    clientRoutes({ clients, audit, revocation }),
    userRoutes({ accounts, mfa, audit, endEverythingOf: (accountId) => application.endEverythingOf(accountId) }),
    keyRoutes({ signingKeys, audit }),
    tokenRoutes({ currentProvider: () => application.provider, jwts: application.jwtAccessTokens, store, audit }),
    auditRoutes({ audit }),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}
