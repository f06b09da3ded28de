import Koa from 'koa';

import { AccountService, secondFactorRequirement } from './accounts/index.js';
import { AuditLog } from './audit/index.js';
import { CLIENT_MIGRATIONS, ClientRegistry } from './clients/index.js';
import { servesHttps, type Config } from './config/index.js';
import { CsrfProtection } from './http/csrf.js';
import { errorBoundary } from './http/errors.js';
import { createDashboard, createSelfService, DASHBOARD_CLIENT_ID, DashboardSessions, SessionDevices, SIGN_UP_PATH } from './dashboard/index.js';
import { ensureCompatClient, GENERATE_TOKEN_PATH, generateTokenApiRoutes } from './generate-token-api/index.js';
import { livenessHandler, readinessHandler } from './http/health.js';
import { observeRequestDuration } from './http/http-metrics.js';
import { applyProxyTrust } from './http/proxy-trust.js';
import { Metrics } from './http/metrics.js';
import { AfterAnswerWork } from './http/after-answer-work.js';
import { ensureRateLimitIndexes, FixedWindowRateLimiter } from './http/rate-limit.js';
import { StoreOutages } from './http/store-outages.js';
import { requestLog } from './http/request-log.js';
import { requireHttpsForCookies } from './http/require-https.js';
import { routersUnder, type RouterMount } from './http/routes-under.js';
import { pragmaWithNoStore } from './http/no-store-pragma.js';
import { securityHeaders } from './http/security-headers.js';
import { exactRouteMethods, exactRoutes } from './http/operational-routes.js';
import { answerMethodNotAllowed, routerMethods } from './http/method-not-allowed.js';
import { faviconHandler, stylesheetHandler } from './http/static-files.js';
import { interactionRoutes, PENDING_LOGINS_COLLECTION, PendingLogins } from './interactions/index.js';
import { PASSWORD_RESETS_COLLECTION, passwordResetRoutes } from './interactions/password-reset.js';
import { signInServices } from './interactions/sign-in-adapter.js';
import type { Logger } from './log/index.js';
import { MfaService } from './mfa/index.js';
import {
  ClientCache,
  countTokenIssuance,
  createProvider,
  endSessionsOfAccount,
  type JwtAccessTokenChecks,
  ensureOidcIndexes,
  OIDC_MIGRATIONS,
  importConfiguredSigningKeys,
  LiveProvider,
  loadSigningKeys,
  longestSignedTokenLifetime,
  MFA_REQUIRED_METADATA,
  requiredRole,
  secondFactorNeeded,
  SigningKeyRotation,
  supportedScopes,
  trackSessionActivity,
  type Provider,
} from './provider/index.js';
import { ServerSecrets } from './secrets/index.js';
import { onStoreUnavailable, runMigrations, withOperationTiming, type Store } from './store/index.js';
import { AccessTokenVerifier, BulkRevocation, JwtRevocationList } from './tokens/index.js';
import { Views } from './views/index.js';

/** What ending everything of an account ended: sessions of both kinds, and stored tokens (JWTs are not counted). */
export interface EverythingEnded {
  sessions: number;
  tokens: number;
}

export interface Application {
  app: Koa;
  /**
   * The provider serving now: it is replaced when signing keys change, so read it per use and configure
   * it only inside createProvider or the build function below (a provider built later needs the same setup).
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
  /** The store as the application uses it (with operation timing). */
  store: Store;
  /** Checks JWT access tokens against the current keys and the revocation list (admin introspection). */
  jwtAccessTokens: JwtAccessTokenChecks;
  /**
   * Ends every session of an account (sign-in and dashboard), every sign-in waiting for its second factor, and
   * revokes all its tokens: password reset or change, and the admin API's disable, MFA reset and revoke-tokens.
   */
  endEverythingOf(accountId: string): Promise<EverythingEnded>;
  /** Stops background work the application started (not the store, which the caller owns). */
  stop(): void;
  /** Resolves once the work requests started after their answers (emails) has finished: before the store closes. */
  afterAnswersSettled(): Promise<void>;
}

/** Builds the public Koa application on a connected store: indexes, keys, provider, routes. */
export async function createApplication(config: Config, rawStore: Store, logger: Logger): Promise<Application> {
  // Failures of work no request waits for (mail, records kept on the side): logged with the error's message only.
  const logFailure =
    (what: string, level: 'warn' | 'error' = 'warn') =>
    (error: unknown) =>
      logger[level]({ err: error instanceof Error ? error.message : String(error) }, what);
  const metrics = new Metrics();
  // Database latency is what operators watch; the in-process memory store answers in microseconds, and
  // timing it would only add a histogram update to each of its calls.
  const store = rawStore.kind === 'memory' ? rawStore : withOperationTiming(rawStore, metrics.storeOperationDuration);
  const secrets = new ServerSecrets(config.masterKey, config.previousMasterKeys);
  await ensureOidcIndexes(store);
  // First: a bad SIGNING_KEYS entry stops the start before anything else is running.
  await importConfiguredSigningKeys(store, secrets, config);
  // Feature modules add their migrations to this list.
  await runMigrations(store, [...CLIENT_MIGRATIONS, ...OIDC_MIGRATIONS], logger, { leaseMs: config.migrationLeaseSeconds * 1000 });
  const audit = new AuditLog(store);
  await audit.ensureIndexes();
  const accounts = new AccountService(store, secrets, { argon2: config.argon2, throttle: config.signInThrottle });
  await accounts.ensureIndexes();
  const deliveryChannel = MfaService.deliveryChannelFromConfig(config);
  const mfa = new MfaService(store, secrets, config, deliveryChannel, accounts);
  await mfa.ensureIndexes();
  // accountId: ending everything of an account ends its sign-ins waiting for a second factor (PendingLogins.endAllOf).
  await store.ensureIndexes(PENDING_LOGINS_COLLECTION, [{ fields: { accountId: 1 } }]);
  await store.ensureIndexes(PASSWORD_RESETS_COLLECTION, [{ fields: { accountId: 1 } }]);
  await ensureRateLimitIndexes(store);
  mfa.onDeliveryFailure(logFailure('could not deliver a one-time code or a security notice'));
  accounts.onCeilingReached(async (account) => {
    await audit.record({ action: 'account.signin_ceiling_reached', actor: { type: 'system' }, accountId: account.customerId, outcome: 'failure' });
    await mfa.notifyCeilingReached(account).catch((error: unknown) => logger.warn({ err: error }, 'could not email the sign-in ceiling notice'));
  });
  const jwtRevocations = new JwtRevocationList(store, longestSignedTokenLifetime(config));
  const revocation = new BulkRevocation(store, jwtRevocations);
  // A phished password's tokens end when the owner enrolls an authenticator: refresh tokens were refused from
  // then on already (assertSignInStillSuffices), but access tokens lived out their ACCESS_TOKEN_TTL.
  mfa.onFirstFactor(async (accountId) => {
    await revocation.revokeAccountAccessAndRefreshTokens(accountId);
  });

  const clientCache = new ClientCache(config.clientCache);
  const sessionDevices = new SessionDevices(store, config.sessionLastSeenIntervalSeconds);
  await sessionDevices.ensureIndexes();

  // One template renderer for every page (provider logout pages, login, dashboard): compiled and cached once.
  const views = new Views();
  // Whether a password-only sign-in still suffices: one policy for the provider (its grants and /auth) and the
  // dashboard, built once, not again with each provider a signing-key change rebuilds.
  const secondFactorRequired = secondFactorRequirement(config.mfa.requiredForAll, accounts);
  const needsSecondFactor = secondFactorNeeded({ isEnrolled: (accountId) => mfa.isEnrolled(accountId), secondFactorRequired });
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
          secondFactorRequired,
          needsSecondFactor,
          audit,
          metrics,
          clientCache,
          views,
          logger,
          jwtAccessTokens: {
            verifier: new AccessTokenVerifier(config.issuer, signingKeys.privateJwks),
            revocations: jwtRevocations,
            revokeGrant: (grantId) => revocation.revokeGrant(grantId),
          },
        });
        countTokenIssuance(built.provider, metrics.tokensIssued);
        trackSessionActivity(built.provider, sessionDevices, logFailure('could not record a sign-in session device'));
        // Behind a proxy (TRUST_PROXY), X-Forwarded-For/-Proto give the client IP and https; otherwise ignored.
        // Mounted at '/', the provider runs on our app's context (whose settings decide ctx.ip); it builds
        // contexts of its own too (interactionDetails, interactionResult), which must read requests the same way.
        applyProxyTrust(built.provider, config);
        built.provider.on('server_error', (ctx, error) => {
          logger.error({ err: error, path: ctx.path }, 'oidc-provider server_error');
        });
        // @koa/router types its middleware's context with the params it adds itself; any Koa context will do.
        return { provider: built.provider, routes: built.routes, methodsAt: built.methodsAt };
      },
    },
    await loadSigningKeys(store, secrets, config.resourceServers.map((server) => server.signingAlg)),
  );
  const clients = new ClientRegistry(
    store,
    secrets,
    async (metadata) => live.provider.Client.validate(metadata),
    clientCache,
    config.resourceServers.map((server) => server.identifier),
    new Set(supportedScopes(config)),
  );
  const apiScopes = [...new Set(config.resourceServers.flatMap((server) => server.scopes))];
  const compatClient = await ensureCompatClient(clients, secrets, apiScopes);

  const dashboardSessions = new DashboardSessions(store, secrets, {
    ttlSeconds: config.dashboard.sessionTtlSeconds,
    secureCookies: servesHttps(config),
    lastSeenIntervalSeconds: config.sessionLastSeenIntervalSeconds,
  });
  const pendingLogins = new PendingLogins(store, secrets);
  const endEverythingOf = async (accountId: string): Promise<EverythingEnded> => {
    // First the sign-ins still waiting for a second factor (mfa_tokens, login pages at their code): each
    // proves the password, which may be what just changed, and would otherwise finish into a new session.
    await mfa.tokens.endAllOf(accountId);
    await pendingLogins.endAllOf(accountId);
    const signInSessions = await endSessionsOfAccount(store, accountId);
    const dashboardSignIns = await dashboardSessions.endAllOf(accountId);
    await sessionDevices.forgetAllOf(accountId);
    const { removed } = await revocation.revokeAccountTokens(accountId);
    return { sessions: signInSessions + dashboardSignIns, tokens: removed };
  };

  const csrf = new CsrfProtection(secrets, servesHttps(config));
  const afterAnswer = new AfterAnswerWork();

  const app = new Koa();
  app.silent = true;
  // The provider runs inside this app (koa-mount), so cookies it sets are signed with this app's keys,
  // while provider.interactionDetails reads them with its own: both must be the configured cookie keys.
  app.keys = config.cookieKeys;
  applyProxyTrust(app, config);
  app.use(requestLog(logger));
  app.use(observeRequestDuration(metrics.httpDuration));
  app.use(pragmaWithNoStore());
  const storeOutages = new StoreOutages();
  app.use(errorBoundary(logger, storeOutages));
  app.use(securityHeaders(servesHttps(config)));
  app.use(requireHttpsForCookies(config.issuer, logger));
  const favicon = faviconHandler();
  const operationalRoutes = {
    '/healthz': livenessHandler,
    '/readyz': readinessHandler(store, () => live.keys.privateJwks.length > 0),
    '/static/site.css': stylesheetHandler(),
    '/static/favicon.svg': favicon,
    '/favicon.ico': favicon,
  };
  app.use(exactRoutes(operationalRoutes));
  // Every router in front of the provider: one middleware, so a token request passes them in one loop.
  const routers: RouterMount[] = [];
  routers.push({
    router: interactionRoutes({
      currentProvider: () => live.provider,
      views,
      csrf,
      pending: pendingLogins,
      // Password spraying (one address, many accounts, one password each) never trips the per-(account, IP)
      // backoff, so the pages need a per-IP budget. Not the password grant's: that one is sized for an app's
      // server carrying many people's sign-ins (and the Generate Token API spends it too), and sharing it
      // would let an app behind the same NAT as its users lock them out of the pages, or someone spraying
      // through the pages lock the app out of its tokens. Each is bounded, and the per-account ceiling
      // bounds the guesses at any one account whatever the route.
      signIn: signInServices(
        accounts,
        mfa,
        metrics,
        config,
        new FixedWindowRateLimiter(store, 'sign-in-pages', config.rateLimits.signInPages, config.rateLimits.windowSeconds),
      ),
      audit,
      logger,
      clientRequiresMfa: async (clientId) => (await live.provider.Client.find(clientId))?.metadata()[MFA_REQUIRED_METADATA] === true,
      forgotPasswordUrl: config.mfa.emailEnabled ? '/account/forgot' : undefined,
      signUpUrlFor: (clientId) => (config.dashboard.signUp && clientId === DASHBOARD_CLIENT_ID ? SIGN_UP_PATH : undefined),
    }),
  });
  if (config.mfa.emailEnabled) {
    routers.push({
      router: passwordResetRoutes({
        store,
        secrets,
        accounts,
        channel: deliveryChannel,
        views,
        csrf,
        audit,
        rateLimiter: new FixedWindowRateLimiter(store, 'password-reset', config.rateLimits.passwordReset, config.rateLimits.windowSeconds),
        // Per account and reset-link lifetime: while the budget is spent, the last link mailed still works.
        mailBudget: new FixedWindowRateLimiter(store, 'emails-to:password-reset', config.rateLimits.emailsPerAddress, config.passwordResetLinkTtlSeconds),
        afterAnswer,
        issuer: config.issuer,
        linkTtlSeconds: config.passwordResetLinkTtlSeconds,
        endEverythingOf,
        distrustMailboxFactor: (accountId) => mfa.distrustMailboxFactor(accountId),
        onSendFailure: logFailure('could not send a password reset link'),
        onMailSkipped: (accountId) => logger.warn({ accountId }, 'password reset link not sent: the email budget of the account is spent'),
      }),
    });
  }
  const providerMiddleware = live.middleware();
  if (config.generateTokenApi.enabled) {
    routers.push({
      router: generateTokenApiRoutes({
        provider: () => providerMiddleware,
        client: compatClient,
        logger,
        allowGet: config.generateTokenApi.allowGet,
      }),
      prefix: GENERATE_TOKEN_PATH,
    });
  }
  // The dashboard's own check of a password-only session, as /auth and the user grants check theirs.
  const dashboardSecondFactorNeeded = (accountId: string) => needsSecondFactor(accountId, undefined);
  const dashboard = await createDashboard({
    config,
    secondFactorNeeded: dashboardSecondFactorNeeded,
    sessions: dashboardSessions,
    store,
    secrets,
    clients,
    accounts,
    mfa,
    audit,
    provider: () => providerMiddleware,
    // Scopes whose role requirement (SCOPE_ROLE_REQUIREMENTS) the account meets; a credential inherits those roles.
    grantableScopes: (account) =>
      apiScopes.filter((scope) => {
        const role = requiredRole(scope, config.scopeRoleRequirements);
        return role === undefined || account.roles.includes(role);
      }),
    credentialRoles: (account, scopes) =>
      account.roles.filter((role) => scopes.some((scope) => requiredRole(scope, config.scopeRoleRequirements) === role)),
    revokeClientTokens: (clientId) => revocation.revokeClientTokens(clientId),
    revokeGrant: (grantId) => revocation.revokeGrant(grantId),
    sessionDevices,
    views,
    channel: deliveryChannel,
    onDeliveryFailure: logFailure('could not deliver a dashboard email'),
  });
  routers.push({ router: dashboard.routes });
  const selfService = await createSelfService({
    config,
    secondFactorNeeded: dashboardSecondFactorNeeded,
    store,
    secrets,
    accounts,
    mfa,
    audit,
    sessions: dashboardSessions,
    views,
    channel: deliveryChannel,
    endEverythingOf,
    onDeliveryFailure: logFailure('could not deliver a dashboard email'),
    afterAnswer,
    onSignUpFailure: logFailure('could not complete a sign-up', 'error'),
  });
  for (const router of selfService.routers) routers.push({ router });
  app.use(routersUnder(routers));
  app.use(providerMiddleware);
  // Last: what every route above serves at a path, asked of the routes themselves, answers a method none takes.
  app.use(
    answerMethodNotAllowed([
      exactRouteMethods(operationalRoutes),
      ...routers.map(({ router }) => routerMethods(router)),
      (path) => live.methodsAt(path),
    ]),
  );

  const unsubscribe = onStoreUnavailable(() => storeOutages.note());
  return {
    app,
    get provider() {
      return live.provider;
    },
    revocation,
    jwtAccessTokens: {
      // Built per call from the keys current now: admin introspection is rare, and keys rotate.
      verify: (token) => new AccessTokenVerifier(config.issuer, live.keys.privateJwks).verify(token),
      revocations: jwtRevocations,
    },
    signingKeys: new SigningKeyRotation(store, secrets, live, config),
    clients,
    secrets,
    audit,
    metrics,
    accounts,
    mfa,
    store,
    endEverythingOf,
    afterAnswersSettled: () => afterAnswer.settled(),
    stop: () => {
      live.stop();
      unsubscribe();
      mfa.close();
    },
  };
}
