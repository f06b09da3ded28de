import Koa from 'koa';
import mount from 'koa-mount';

import { AuditLog } from './audit/index.js';

import { AccountService } from './accounts/index.js';
import { ClientRegistry } from './clients/index.js';
import type { Config } from './config/index.js';
import { CsrfProtection } from './http/csrf.js';
import { errorBoundary } from './http/errors.js';
import { createDashboard } from './dashboard/index.js';
import { ensureCompatClient, generateTokenApiRoutes } from './generate-token-api/index.js';
import { healthRoutes } from './http/health.js';
import { observeRequestDuration } from './http/http-metrics.js';
import { Metrics } from './http/metrics.js';
import { ensureRateLimitIndexes } from './http/rate-limit.js';
import { noteStoreUnavailable } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { requireHttpsForCookies } from './http/require-https.js';
import { securityHeaders } from './http/security-headers.js';
import { staticRoutes } from './http/static-files.js';
import { interactionRoutes, PENDING_LOGINS_COLLECTION, PendingLogins } from './interactions/index.js';
import { signInServices } from './interactions/sign-in-adapter.js';
import type { Logger } from './log/index.js';
import { MfaService } from './mfa/index.js';
import { countTokenIssuance, createProvider, revokeOpaqueTokensOfClient, ensureOidcIndexes, loadSigningKeys, MFA_REQUIRED_METADATA, type Provider } from './provider/index.js';
import { ServerSecrets } from './secrets/index.js';
import { onStoreUnavailable, withOperationTiming, type Store } from './store/index.js';
import { Views } from './views/index.js';

export interface Application {
  app: Koa;
  provider: Provider;
  clients: ClientRegistry;
  secrets: ServerSecrets;
  audit: AuditLog;
  metrics: Metrics;
  accounts: AccountService;
  mfa: MfaService;
  /** The store as the application uses it (with operation timing). */
  store: Store;
  /** Stops background work the application started (not the store, which the caller owns). */
  stop(): void;
}

/** Builds the public Koa application on a connected store: indexes, keys, provider, routes. */
export async function createApplication(config: Config, rawStore: Store, logger: Logger): Promise<Application> {
  const metrics = new Metrics();
  const store = withOperationTiming(rawStore, metrics.storeOperationDuration);
  const secrets = new ServerSecrets(config.masterKey, config.previousMasterKeys);
  await ensureOidcIndexes(store);
  const signingKeys = await loadSigningKeys(store, secrets);
  const audit = new AuditLog(store);
  await audit.ensureIndexes();
  const accounts = new AccountService(store, secrets, { argon2: config.argon2, throttle: config.signInThrottle });
  await accounts.ensureIndexes();
  const mfa = new MfaService(store, secrets, config, MfaService.deliveryChannelFromConfig(config), accounts);
  await mfa.ensureIndexes();
  await store.ensureIndexes(PENDING_LOGINS_COLLECTION, []);
  await ensureRateLimitIndexes(store);
  mfa.onDeliveryFailure((error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not deliver a one-time code'));
  accounts.onCeilingReached(async (account) => {
    await audit.record({ action: 'account.signin_ceiling_reached', actor: { type: 'system' }, accountId: account.customerId, outcome: 'failure' });
    await mfa.notifyCeilingReached(account).catch((error: unknown) => logger.warn({ err: error }, 'could not email the sign-in ceiling notice'));
  });
  const { provider, routes: providerRoutes } = createProvider({ config, store, secrets, signingKeys, accounts, mfa, audit, metrics });
  const clients = new ClientRegistry(store, secrets, async (metadata) => provider.Client.validate(metadata));
  countTokenIssuance(provider, metrics.tokensIssued);
  const compatClient = await ensureCompatClient(clients, secrets, config.apiScopes);
  // Behind a proxy (TRUST_PROXY), X-Forwarded-For/-Proto give the client IP and https; otherwise ignored.
  provider.proxy = config.trustProxy;

  provider.on('server_error', (ctx, error) => {
    logger.error({ err: error, path: ctx.path }, 'oidc-provider server_error');
  });

  const app = new Koa();
  app.silent = true;
  // The provider runs inside this app (koa-mount), so cookies it sets are signed with this app's keys,
  // while provider.interactionDetails reads them with its own: both must be the configured cookie keys.
  app.keys = config.cookieKeys;
  app.proxy = config.trustProxy;
  app.use(requestLog(logger));
  app.use(observeRequestDuration(metrics.httpDuration));
  app.use(errorBoundary(logger));
  app.use(securityHeaders(config.issuer.startsWith('https:')));
  app.use(requireHttpsForCookies(config.issuer, logger));
  app.use(healthRoutes(store, () => signingKeys.length > 0).routes());
  app.use(staticRoutes().routes());
  app.use(providerRoutes.routes());
  app.use(
    interactionRoutes({
      provider,
      views: new Views(),
      csrf: new CsrfProtection(secrets, config.issuer.startsWith('https:')),
      pending: new PendingLogins(store, secrets),
      signIn: signInServices(accounts, mfa, metrics, config),
      audit,
      logger,
      clientRequiresMfa: async (clientId) => (await provider.Client.find(clientId))?.metadata()[MFA_REQUIRED_METADATA] === true,
    }).routes(),
  );
  const providerMiddleware = mount(provider);
  app.use(
    generateTokenApiRoutes({
      provider: () => providerMiddleware,
      client: compatClient,
      accounts,
      audit,
      logger,
      allowGet: config.generateTokenApi.allowGet,
    }).routes(),
  );
  const dashboard = await createDashboard({
    config,
    store,
    secrets,
    clients,
    accounts,
    mfa,
    audit,
    provider: () => providerMiddleware,
    grantableScopes: () => config.apiScopes,
    revokeClientTokens: (clientId) => revokeOpaqueTokensOfClient(store, clientId),
  });
  app.use(dashboard.routes.routes());
  app.use(providerMiddleware);

  const unsubscribe = onStoreUnavailable(noteStoreUnavailable);
  const stop = () => {
    unsubscribe();
    mfa.close();
  };
  return { app, provider, clients, secrets, audit, metrics, accounts, mfa, store, stop };
}
