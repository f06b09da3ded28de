import Koa from 'koa';

import { AuditLog } from './audit/index.js';
import mount from 'koa-mount';

import { CLIENT_MIGRATIONS, ClientRegistry } from './clients/index.js';
import type { Config } from './config/index.js';
import { errorBoundary } from './http/errors.js';
import { livenessHandler, readinessHandler } from './http/health.js';
import { Metrics } from './http/metrics.js';
import { noteStoreUnavailable } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security-headers.js';
import { exactRoutes } from './http/operational-routes.js';
import { stylesheetHandler } from './http/static-files.js';
import type { Logger } from './log/index.js';
import { ClientCache, createProvider, ensureOidcIndexes, loadSigningKeys, type Provider } from './provider/index.js';
import { ServerSecrets } from './secrets/index.js';
import { onStoreUnavailable, runMigrations, type Store } from './store/index.js';

export interface Application {
  app: Koa;
  provider: Provider;
  clients: ClientRegistry;
  secrets: ServerSecrets;
  audit: AuditLog;
  metrics: Metrics;
  /** Stops background work the application started (not the store, which the caller owns). */
  stop(): void;
}

/** Builds the public Koa application on a connected store: indexes, keys, provider, routes. */
export async function createApplication(config: Config, store: Store, logger: Logger): Promise<Application> {
  const secrets = new ServerSecrets(config.masterKey, config.previousMasterKeys);
  await ensureOidcIndexes(store);
  // Feature modules add their migrations to this list.
  await runMigrations(store, [...CLIENT_MIGRATIONS], logger, { leaseMs: config.migrationLeaseSeconds * 1000 });
  const signingKeys = await loadSigningKeys(store, secrets);
  const clientCache = new ClientCache(config.clientCache);
  const provider = createProvider({ config, store, secrets, signingKeys, clientCache });
  const clients = new ClientRegistry(store, secrets, clientCache);
  const audit = new AuditLog(store);
  await audit.ensureIndexes();
  const metrics = new Metrics();

  provider.on('server_error', (ctx, error) => {
    logger.error({ err: error, path: ctx.path }, 'oidc-provider server_error');
  });

  const app = new Koa();
  app.silent = true;
  app.use(requestLog(logger));
  app.use(errorBoundary(logger));
  app.use(securityHeaders(config.issuer.startsWith('https:')));
  app.use(
    exactRoutes({
      '/healthz': livenessHandler,
      '/readyz': readinessHandler(store, () => signingKeys.length > 0),
      '/static/site.css': stylesheetHandler(),
    }),
  );
  app.use(mount(provider));

  const unsubscribe = onStoreUnavailable(noteStoreUnavailable);
  return { app, provider, clients, secrets, audit, metrics, stop: unsubscribe };
}
