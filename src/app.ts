import Koa, { type Middleware } from 'koa';

import { AuditLog } from './audit/index.js';

import { AccountService } from './accounts/index.js';
import { ClientRegistry } from './clients/index.js';
import type { Config } from './config/index.js';
import { errorBoundary } from './http/errors.js';
import { healthRoutes } from './http/health.js';
import { Metrics } from './http/metrics.js';
import { noteStoreUnavailable } from './http/request-context.js';
import { requestLog } from './http/request-log.js';
import { securityHeaders } from './http/security-headers.js';
import { staticRoutes } from './http/static-files.js';
import type { Logger } from './log/index.js';
import {
  createProvider,
  ensureOidcIndexes,
  importConfiguredSigningKeys,
  LiveProvider,
  loadSigningKeys,
  longestSignedTokenLifetime,
  SigningKeyRotation,
  type Provider,
} from './provider/index.js';
import { MfaService } from './mfa/index.js';
import { ServerSecrets } from './secrets/index.js';
import { onStoreUnavailable, type Store } from './store/index.js';
import { AccessTokenVerifier, BulkRevocation, JwtRevocationList } from './tokens/index.js';

export interface Application {
  app: Koa;
  /**
   * The provider serving now: it is replaced when signing keys change, so read it per use and configure
   * it only inside createProvider (a provider built later must get the same setup).
   */
  readonly provider: Provider;
  /** Bulk revocation of a client's or a user's tokens (opaque and JWT). */
  revocation: BulkRevocation;
  /** Signing key rotation and listing (admin API). */
  signingKeys: SigningKeyRotation;
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
  // First: a bad SIGNING_KEYS entry stops the start before anything else is running.
  await importConfiguredSigningKeys(store, secrets, config);
  const clients = new ClientRegistry(store, secrets);
  const audit = new AuditLog(store);
  await audit.ensureIndexes();
  const metrics = new Metrics();
  const accounts = new AccountService(store, secrets, { argon2: config.argon2, throttle: config.signInThrottle });
  await accounts.ensureIndexes();
  const mfa = new MfaService(store, secrets, config, MfaService.deliveryChannelFromConfig(config));
  await mfa.ensureIndexes();
  mfa.onDeliveryFailure((error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not deliver a one-time code'));
  accounts.onCeilingReached(async (account) => {
    await audit.record({ action: 'account.signin_ceiling_reached', actor: { type: 'system' }, accountId: account.customerId, outcome: 'failure' });
    await mfa.notifyCeilingReached(account).catch((error: unknown) => logger.warn({ err: error }, 'could not email the sign-in ceiling notice'));
  });
  const jwtRevocations = new JwtRevocationList(store, longestSignedTokenLifetime(config));
  const revocation = new BulkRevocation(store, jwtRevocations);
  const live = await LiveProvider.start(
    {
      store,
      secrets,
      logger,
      pollIntervalSeconds: config.signingKeys.pollIntervalSeconds,
      build: (signingKeys) => {
        const built = createProvider({
          config,
          store,
          secrets,
          signingKeys,
          accounts,
          mfa,
          audit,
          metrics,
          jwtAccessTokens: {
            verifier: new AccessTokenVerifier(config.issuer, signingKeys.privateJwks),
            revocations: jwtRevocations,
            revokeGrant: (grantId) => revocation.revokeGrant(grantId),
          },
        });
        built.provider.on('server_error', (ctx, error) => {
          logger.error({ err: error, path: ctx.path }, 'oidc-provider server_error');
        });
        // @koa/router types its middleware's context with the params it adds itself; any Koa context will do.
        return { provider: built.provider, routes: built.routes.routes() as unknown as Middleware };
      },
    },
    await loadSigningKeys(store, secrets, config.resourceServers.map((server) => server.signingAlg)),
  );

  const app = new Koa();
  app.silent = true;
  app.use(requestLog(logger));
  app.use(errorBoundary(logger));
  app.use(securityHeaders(config.issuer.startsWith('https:')));
  app.use(healthRoutes(store, () => live.keys.privateJwks.length > 0).routes());
  app.use(staticRoutes().routes());
  app.use(live.middleware());

  const unsubscribe = onStoreUnavailable(noteStoreUnavailable);
  return {
    app,
    get provider() {
      return live.provider;
    },
    revocation,
    signingKeys: new SigningKeyRotation(store, secrets, live, config),
    clients,
    secrets,
    audit,
    metrics,
    accounts,
    mfa,
    stop: () => {
      live.stop();
      unsubscribe();
      mfa.close();
    },
  };
}
