import type { Middleware } from 'koa';
import compose from 'koa-compose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import type { AccountService } from '../accounts/index.js';
import type { AuditLog } from '../audit/index.js';
import { PreviousClientSecrets, VerifiedClientSecrets } from '../clients/index.js';
import { servesHttps, type Config } from '../config/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { adapterClass } from './adapter.js';
import { clientMetadataForProvider, OIDC_SCOPE_CLAIMS, supportedScopes } from './client-scopes.js';
import type { ClientCache } from './client-cache.js';
import type { Metrics } from '../http/metrics.js';
import { FixedWindowRateLimiter } from '../http/rate-limit.js';
import { methodsAt, routerMethods, type MethodsAtPath } from '../http/method-not-allowed.js';
import { routesUnder } from '../http/routes-under.js';
import { ACR_MFA, ACR_PASSWORD, type MfaService } from '../mfa/index.js';
import { registerClientCredentialsGrant } from './grants/client-credentials.js';
import { clientCredentialsFastPath } from './client-credentials-fast-path.js';
import { registerMfaOtpGrant } from './grants/mfa-otp.js';
import { registerPasswordGrant } from './grants/password.js';
import { registerRefreshTokenGrant } from './grants/refresh-token.js';
import { registerAuthorizationCodeGrant } from './grants/authorization-code.js';
import {
  MFA_REQUIRED_METADATA,
  PASSWORD_GRANT_METADATA,
  USER_GRANT_TYPES,
  type UserGrantDependencies,
} from './grants/user-grant-policy.js';
import { authenticationOfRequest } from './grants/user-tokens.js';
import { MFA_CHALLENGE_PATH, mfaChallengeRoutes } from './mfa-challenge.js';
import { ResourceServerRegistry } from './resource-servers.js';
import { providerRouteMethods } from './route-methods.js';
import { renderProviderError } from './error-page.js';
import { mayIntrospect, RESOURCE_SERVER_AUDIENCES, CLIENT_ROLES } from './introspection-policy.js';
import { afterProviderAnswers } from './after-answer.js';
import { answerJwtAccessTokensAtTokenEndpoints, type JwtTokenEndpointDependencies } from './jwt-token-endpoints.js';
import { refreshTokenTtl } from './refresh-tokens.js';
import type { SigningKeySet } from './signing-keys.js';
import { accessTokenClaims } from './token-claims.js';
import { requestsOnlyOpenIdScopes } from './userinfo-tokens.js';
import { logoutPages } from './logout-pages.js';
import { interactionPolicyWithStepUp } from './step-up-policy.js';
import type { SecondFactorNeeded } from './second-factor-policy.js';
import { clientBasedCors, isWebOrigin, WEB_ORIGINS } from './cors-policy.js';
import { assertClientAssertionAudience, assertClientAssertionLifetime } from './client-assertion-audience.js';
import { describeClientAssertionFailures } from './client-assertion-errors.js';
import { explainFormsWithoutContentType } from './form-content-type.js';
import { pinEndpointUrlsToIssuer } from './endpoint-urls.js';
import { makeReplayDetectionAtomic } from './replay-detection.js';
import { clearTransientAtRememberedLogin, signInSessionCookieName, signInSessionTtl } from './sign-in-sessions.js';
import type { Views } from '../views/index.js';
import type { Logger } from '../log/index.js';

export { ACCOUNT_BOUND_MODELS, CLIENT_BOUND_MODELS, isStoredPayload, readStoredPayload, type StoredPayload, ensureOidcIndexes, OIDC_MIGRATIONS, endSessionsOfAccount, revokeGrantEverywhere, collectionName, OIDC_MODELS, type OidcDocument } from './adapter.js';
export {
  listSigningKeys,
  loadSigningKeys,
  rotateSigningKey,
  SIGNING_ALGORITHMS,
  SIGNING_KEYS_COLLECTION,
  type SigningAlgorithm,
  type SigningKeyInfo,
  type SigningKeySet,
} from './signing-keys.js';
export { LiveProvider } from './live-provider.js';
export { importConfiguredSigningKeys, longestSignedTokenLifetime, SigningKeyRotation } from './signing-key-rotation.js';
export { ResourceServerRegistry } from './resource-servers.js';
export { assertScopesPermittedByRoles, requiredRole } from './token-claims.js';
export { RESOURCE_SERVER_AUDIENCES, CLIENT_ROLES } from './introspection-policy.js';
export { countTokenIssuance } from './token-metrics.js';
export { runTokenRequest, withIdentityCheck, type TokenEndpointResult } from './in-process-token-request.js';
export { lookUpToken, type JwtAccessTokenChecks, type TokenDescription, type TokenLookup } from './token-admin.js';
export {
  AUTH0_MFA_OTP_GRANT_TYPE,
  MFA_OTP_GRANT_TYPE,
  MFA_REQUIRED_METADATA,
  PASSWORD_GRANT_METADATA,
} from './grants/user-grant-policy.js';
export { ClientCache, type ClientCacheOptions } from './client-cache.js';
export { secondFactorNeeded, type SecondFactorNeeded } from './second-factor-policy.js';
export { supportedScopes } from './client-scopes.js';
export type { Provider };

export interface ProviderDependencies {
  config: Config;
  store: Store;
  secrets: ServerSecrets;
  signingKeys: SigningKeySet;
  /** Revocation and introspection of JWT access tokens, which oidc-provider does not handle. */
  jwtAccessTokens: JwtTokenEndpointDependencies;
  clientCache: ClientCache;
  accounts: AccountService;
  mfa: MfaService;
  /** Whether policy makes an account need a second factor (REQUIRE_MFA, an operator's require-mfa). */
  secondFactorRequired(accountId: string): Promise<boolean>;
  /** Whether a token for this account and client may be issued only after a second factor (second-factor-policy.ts). */
  needsSecondFactor: SecondFactorNeeded;
  audit: AuditLog;
  metrics: Metrics;
  /** The application's one template renderer, for oidc-provider's logout pages. */
  views: Views;
  /** For warnings about stored clients this configuration can only partly load (client-scopes.ts). */
  logger: Logger;
}

export interface ProviderWithRoutes {
  provider: Provider;
  /** Routes beside oidc-provider's own (POST /mfa/challenge); mounted by the app before the provider. */
  routes: Middleware;
  /** The methods the provider's routes and those beside it serve at a path. */
  methodsAt: MethodsAtPath;
}

/** Asymmetric algorithms only: HS* and `dir` would need client secrets in clear, and we keep only hashes. */
const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;

/** Builds the oidc-provider instance: features, token formats, client rules and storage. */
export function createProvider(dependencies: ProviderDependencies): ProviderWithRoutes {
  const { config, store, secrets, signingKeys, accounts, jwtAccessTokens, clientCache, logger, secondFactorRequired, needsSecondFactor } = dependencies;
  const resourceServers = ResourceServerRegistry.fromConfig(config);
  const scopes: ReadonlySet<string> = new Set(supportedScopes(config));
  const signingKid = (alg: keyof SigningKeySet['signingKid']) => signingKeys.signingKid[alg];
  const secureCookies = servesHttps(config);

  const configuration: Configuration = {
    adapter: adapterClass(store, secrets, { Client: (id) => clientCache.invalidate(id) }, (clientId, stored) =>
      clientMetadataForProvider(clientId, stored, scopes, logger),
    ),
    clients: [],
    async findAccount(ctx, id) {
      const account = await accounts.findById(id);
      if (!account || account.status !== 'active') return undefined;
      return {
        accountId: account.customerId,
        claims: () => ({ sub: account.customerId, email: account.email, customer_id: account.customerId, roles: account.roles }),
      };
    },
    claims: OIDC_SCOPE_CLAIMS,
    // API scopes are declared here too, so client registrations may name them and discovery lists them.
    scopes: [...scopes],
    // RFC 9700: the implicit and hybrid flows are not offered.
    responseTypes: ['code', 'none'],
    jwks: { keys: signingKeys.privateJwks as NonNullable<Configuration['jwks']>['keys'] },
    extraClientMetadata: {
      // Per-client switches for the password grant (off by default) and for requiring a second factor;
      // the audiences a client serves as a resource server (introspection policy) and its own roles.
      properties: [PASSWORD_GRANT_METADATA, MFA_REQUIRED_METADATA, RESOURCE_SERVER_AUDIENCES, CLIENT_ROLES, WEB_ORIGINS],
      validator(ctx, key, value) {
        if (value === undefined) return;
        if (key === PASSWORD_GRANT_METADATA || key === MFA_REQUIRED_METADATA) {
          if (typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
        } else if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
          throw new errors.InvalidClientMetadata(`${key} must be an array of strings`);
        } else if (key === WEB_ORIGINS && value.some((entry) => !isWebOrigin(String(entry)))) {
          throw new errors.InvalidClientMetadata(`${key} must list origins such as https://app.example.com`);
        }
      },
    },
    // amr and acr (how the user signed in), roles and customer_id on user tokens, the client's roles on its
    // own tokens: in JWT access tokens and in introspection answers (oidc-provider spreads `extra` into both).
    extraTokenClaims: accessTokenClaims({
      scopeRoleRequirements: config.scopeRoleRequirements,
      findAccount: () => configuration.findAccount,
      authentication: authenticationOfRequest,
    }),
    formats: {
      customizers: {
        // What bulk revocation needs to reach a JWT: its grant (client_id and sub are there already).
        jwt: (ctx, token, jwt) => {
          if ('grantId' in token && token.grantId) jwt.payload.grant_id = token.grantId;
        },
      },
    },
    // Every use of a refresh token returns a new one; presenting a used one again revokes the grant.
    rotateRefreshToken: true,
    cookies: {
      names: { session: signInSessionCookieName(secureCookies), interaction: '_interaction', resume: '_interaction_resume' },
      keys: config.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: secureCookies },
      short: { httpOnly: true, sameSite: 'lax', secure: secureCookies },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    // oidc-provider publishes only the token endpoint's methods; RFC 8414 reads a missing revocation list as
    // "client_secret_basic only", and a missing introspection list as "find out some other way".
    discovery: {
      claim_types_supported: ['normal'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      introspection_endpoint_auth_signing_alg_values_supported: [...SIGNING_ALGS],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: [...SIGNING_ALGS],
    },
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims) => {
      assertClientAssertionLifetime(claims, config.clientAssertionMaxLifetimeSeconds);
      await assertClientAssertionAudience(ctx, claims);
    },
    enabledJWA: {
      clientAuthSigningAlgValues: [...SIGNING_ALGS],
      idTokenSigningAlgValues: ['RS256', 'EdDSA', 'ES256'],
      requestObjectSigningAlgValues: [...SIGNING_ALGS],
      userinfoSigningAlgValues: ['RS256', 'EdDSA', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'EdDSA', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'EdDSA', 'ES256'],
      requestObjectEncryptionAlgValues: [],
      idTokenEncryptionAlgValues: [],
      userinfoEncryptionAlgValues: [],
      introspectionEncryptionAlgValues: [],
      authorizationEncryptionAlgValues: [],
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, ...logoutPages(dependencies.views) },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Our policy (introspection-policy.ts): own tokens, and tokens for audiences the client serves.
        allowedPolicy: async (ctx, client, token) => mayIntrospect(client, { clientId: token.clientId, audience: 'aud' in token ? token.aud : undefined }),
      },
      // RFC 9701 signed introspection responses, for clients registering introspection_signed_response_alg.
      jwtIntrospection: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) => {
          if (token.clientId !== client.clientId) {
            // RFC 7009 2.1: refuse, and leave the token valid.
            throw new errors.UnauthorizedClient('client is not authorized to revoke the presented token');
          }
          return true;
        },
      },
      resourceIndicators: {
        enabled: true,
        // The token contract (README): OpenID scopes alone mean a token for userinfo, which must carry no
        // audience; anything else targets an API, the default one unless `resource` names another.
        // `oneOf`: several resources, of which a token (one audience) can take only one. Named several times in
        // this very request, they are refused (invalid_target, as client_credentials and the password grant
        // answer); granted together at /auth and not named now, the default API when it is one of them. Picking
        // the default API otherwise would give a token for an API the client did not name.
        defaultResource: (ctx, _client, oneOf) => {
          if (oneOf !== undefined) {
            if (Array.isArray(ctx.oidc.params?.resource)) return oneOf;
            return oneOf.includes(resourceServers.defaultIdentifier) ? resourceServers.defaultIdentifier : oneOf;
          }
          return requestsOnlyOpenIdScopes(ctx) ? undefined : resourceServers.defaultIdentifier;
        },
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          const server = resourceServers.get(resourceIndicator);
          if (!server) throw new errors.InvalidTarget('the requested resource is not known to this server');
          return resourceServers.toProviderInfo(server, signingKid);
        },
      },
    },
    pkce: { required: () => true },
    ttl: {
      // Functions, not numbers: with a number oidc-provider never looks at the API's own accessTokenTTL
      // (RESOURCE_SERVERS' accessTokenTtl), and a JWT meant to live 15 minutes lived the global hour.
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.clientCredentials,
      IdToken: config.ttl.idToken,
      RefreshToken: refreshTokenTtl({ absoluteSeconds: config.ttl.refreshToken, idleSeconds: config.refreshTokenIdleTtl }),
      AuthorizationCode: 60,
      Interaction: 3600,
      // By the "keep me signed in on this device" choice of the login page (transient sessions: the shorter).
      Session: signInSessionTtl(config.signInSession),
      // A grant outlives the longest sign-in session and every refresh token of its chain.
      Grant: Math.max(config.signInSession.rememberedTtlSeconds, config.ttl.refreshToken),
    },
    renderError: renderProviderError,
    clientBasedCORS: clientBasedCors,
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: interactionPolicyWithStepUp(needsSecondFactor),
    },
    acrValues: [ACR_PASSWORD, ACR_MFA],
  };

  const provider = new Provider(config.issuer, configuration);

  // Client secrets are stored as salted, keyed hashes: compare against the hash, never a clear value.
  const previousSecrets = new PreviousClientSecrets(store, secrets);
  const verifiedSecrets = new VerifiedClientSecrets(secrets, config.clientCache);
  provider.Client.prototype.compareClientSecret = async function compareHashedSecret(
    this: InstanceType<typeof provider.Client>,
    presented: string,
  ): Promise<boolean> {
    if (typeof this.clientSecret === 'string' && verifiedSecrets.matches(this.clientSecret, presented)) return true;
    // After a rotation with a grace period, the replaced secret keeps working until it ends.
    return previousSecrets.matches(this.clientId, presented);
  };

  // oidc-provider refuses a grant missing from the client's grant_types with invalid_request; for the
  // password and mfa-otp grants our handlers decide, from the client's metadata, and answer
  // unauthorized_client as RFC 6749 5.2 says.
  const grantTypeAllowed = provider.Client.prototype.grantTypeAllowed;
  provider.Client.prototype.grantTypeAllowed = function grantTypeAllowedOrOurs(
    this: InstanceType<typeof provider.Client>,
    grantType: string,
  ): boolean {
    return USER_GRANT_TYPES.has(grantType) || grantTypeAllowed.call(this, grantType);
  };

  clearTransientAtRememberedLogin(provider);
  pinEndpointUrlsToIssuer(provider);
  makeReplayDetectionAtomic(provider, store, secrets);
  describeClientAssertionFailures(provider);
  registerClientCredentialsGrant(provider, resourceServers);
  registerRefreshTokenGrant(provider, needsSecondFactor);
  registerAuthorizationCodeGrant(provider, needsSecondFactor);
  const userGrantDependencies: UserGrantDependencies = {
    accounts,
    mfa: dependencies.mfa,
    audit: dependencies.audit,
    metrics: dependencies.metrics,
    resourceServers,
    scopeRoleRequirements: config.scopeRoleRequirements,
    rateLimiter: new FixedWindowRateLimiter(store, 'password-grant', config.rateLimits.passwordGrant, config.rateLimits.windowSeconds),
    rateLimiterForChallenge: new FixedWindowRateLimiter(store, 'mfa-challenge', config.rateLimits.mfaChallenge, config.rateLimits.windowSeconds),
    secondFactorRequired,
  };
  registerPasswordGrant(provider, userGrantDependencies);
  registerMfaOtpGrant(provider, userGrantDependencies);
  answerJwtAccessTokensAtTokenEndpoints(provider, jwtAccessTokens);
  limitJwksCaching(provider, config.signingKeys.jwksCacheMaxAgeSeconds);
  keepRevocationAnswersUncached(provider);
  explainFormsWithoutContentType(provider);
  clientCache.install(provider);
  const mfaChallenge = mfaChallengeRoutes(provider, userGrantDependencies);
  const sources = [providerRouteMethods(provider), routerMethods(mfaChallenge)];
  // Registered grants first: the fast path runs the client_credentials handler registered above.
  const mfaRoutes = routesUnder(mfaChallenge, MFA_CHALLENGE_PATH);
  const routes = config.clientCredentialsFastPath ? compose([clientCredentialsFastPath(provider), mfaRoutes]) : mfaRoutes;
  return { provider, routes, methodsAt: (path) => methodsAt(sources, path) };
}

/**
 * JWKS may be cached, but no longer than a new key waits before it signs (SIGNING_KEY_PUBLISH_DELAY_SECONDS
 * is validated to exceed this): a resource server refreshing on schedule always knows the signing key.
 */
function limitJwksCaching(provider: Provider, maxAgeSeconds: number): void {
  afterProviderAnswers(provider, ['jwks'], (ctx) => {
    if (ctx.status === 200) ctx.set('cache-control', `public, max-age=${maxAgeSeconds}`);
  });
}

/**
 * Revocation answers say no-store, as the token and introspection endpoints' do: oidc-provider's revocation route
 * alone sets no Cache-Control. RFC 7009 asks nothing of caches, but an answer about a credential (refused for
 * another client's token, invalid_client) is nothing a cache should keep. Errors included: the route's own error
 * handler has answered by the time this runs.
 */
function keepRevocationAnswersUncached(provider: Provider): void {
  afterProviderAnswers(provider, ['revocation'], (ctx) => {
    ctx.set('cache-control', 'no-store');
  });
}

export type OidcContext = KoaContextWithOIDC;
export { endOtherSignInSessions, endSignInSession, isRememberedSession, signInSessionOfRequest, signInSessionsOf, trackSessionActivity, type SessionActivityRecorder, type SignInSession } from './sign-in-sessions.js';
