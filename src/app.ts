import Koa from 'koa';

import { AuditLog } from './audit/index.js';
import mount from 'koa-mount';

import { AccountService } from './accounts/index.js';
import { ClientRegistry } from './clients/index.js';
import type { Config } from './config/index.js';
import { errorBoundary } from './http/errors.js';
import { healthRoutes } from './http/health.js';
import { Metrics } from './http/metrics.js';
import { ensureRateLimitIndexes } from './http/rate-limit.js';
import { noteStoreUnavailable } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security-headers.js';
import { staticRoutes } from './http/static-files.js';
import type { Logger } from './log/index.js';
import { MfaService } from './mfa/index.js';
import { createProvider, ensureOidcIndexes, loadSigningKeys, type Provider } from './provider/index.js';
import { ServerSecrets } from './secrets/index.js';
import { onStoreUnavailable, type Store } from './store/index.js';

export interface Application {
  app: Koa;
  provider: Provider;
  clients: ClientRegistry;
  secrets: ServerSecrets;
  audit: AuditLog;
  metrics: Metrics;
  accounts: AccountService;
  mfa: MfaService;
  /** Stops background work the application started (not the store, which the caller owns). */
  stop(): void;
}

/** Builds the public Koa application on a connected store: indexes, keys, provider, routes. */
export async function createApplication(config: Config, store: Store, logger: Logger): Promise<Application> {
  const secrets = new ServerSecrets(config.masterKey, config.previousMasterKeys);
  await ensureOidcIndexes(store);
  const signingKeys = await loadSigningKeys(store, secrets);
  const clients = new ClientRegistry(store, secrets);
  const audit = new AuditLog(store);
  await audit.ensureIndexes();
  const metrics = new Metrics();
  const accounts = new AccountService(store, secrets, { argon2: config.argon2, throttle: config.signInThrottle });
  await accounts.ensureIndexes();
  const mfa = new MfaService(store, secrets, config, MfaService.deliveryChannelFromConfig(config), accounts);
  await mfa.ensureIndexes();
  await ensureRateLimitIndexes(store);
  mfa.onDeliveryFailure((error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not deliver a one-time code'));
  accounts.onCeilingReached(async (account) => {
    await audit.record({ action: 'account.signin_ceiling_reached', actor: { type: 'system' }, accountId: account.customerId, outcome: 'failure' });
    await mfa.notifyCeilingReached(account).catch((error: unknown) => logger.warn({ err: error }, 'could not email the sign-in ceiling notice'));
  });
  const { provider, routes: providerRoutes } = createProvider({ config, store, secrets, signingKeys, accounts, mfa, audit, metrics });

  provider.on('server_error', (ctx, error) => {
    logger.error({ err: error, path: ctx.path }, 'oidc-provider server_error');
  });

  const app = new Koa();
  app.silent = true;
  app.use(requestLog(logger));
  app.use(errorBoundary(logger));
  app.use(securityHeaders(config.issuer.startsWith('https:')));
  app.use(healthRoutes(store, () => signingKeys.length > 0).routes());
  app.use(staticRoutes().routes());
  app.use(providerRoutes.routes());
  app.use(mount(provider));

  const unsubscribe = onStoreUnavailable(noteStoreUnavailable);
  const stop = () => {
    unsubscribe();
    mfa.close();
  };
  return { app, provider, clients, secrets, audit, metrics, accounts, mfa, stop };
}
