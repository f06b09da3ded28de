import type { JsonWebKey } from 'node:crypto';

import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import { verifyClientSecret } from '../clients/index.js';
import type { Config } from '../config/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { adapterClass } from './adapter.js';
import type { ClientCache } from './client-cache.js';
import { registerClientCredentialsGrant } from './grants/client-credentials.js';
import { ResourceServerRegistry } from './resource-servers.js';
import { renderProviderError } from './error-page.js';

export { ensureOidcIndexes, revokeGrantEverywhere, collectionName, OIDC_MODELS } from './adapter.js';
export { loadSigningKeys, SIGNING_KEYS_COLLECTION } from './signing-keys.js';
export { ResourceServerRegistry } from './resource-servers.js';
export { ClientCache, type ClientCacheOptions } from './client-cache.js';
export type { Provider };

export interface ProviderDependencies {
  config: Config;
  store: Store;
  secrets: ServerSecrets;
  signingKeys: JsonWebKey[];
  clientCache: ClientCache;
}

/** Asymmetric algorithms only: HS* and `dir` would need client secrets in clear, and we keep only hashes. */
const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256', 'PS256'] as const;

/** Builds the oidc-provider instance: features, token formats, client rules and storage. */
export function createProvider({ config, store, secrets, signingKeys, clientCache }: ProviderDependencies): Provider {
  const resourceServers = ResourceServerRegistry.fromConfig(config);

  const configuration: Configuration = {
    adapter: adapterClass(store, secrets, (model, id) => {
      if (model === 'Client') clientCache.invalidate(id);
    }),
    clients: [],
    // API scopes are declared here too, so client registrations may name them and discovery lists them.
    scopes: ['openid', 'offline_access', ...config.apiScopes],
    // RFC 9700: the implicit and hybrid flows are not offered.
    responseTypes: ['code', 'none'],
    jwks: { keys: signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: config.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: config.issuer.startsWith('https:') },
      short: { httpOnly: true, sameSite: 'lax', secure: config.issuer.startsWith('https:') },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
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
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client sees its own tokens only; anything else answers {"active":false}.
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
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
        defaultResource: () => resourceServers.defaultIdentifier,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          const server = resourceServers.get(resourceIndicator);
          if (!server) throw new errors.InvalidTarget('the requested resource is not known to this server');
          return resourceServers.toProviderInfo(server);
        },
      },
    },
    pkce: { required: () => true },
    ttl: {
      AccessToken: config.ttl.accessToken,
      ClientCredentials: config.ttl.clientCredentials,
      IdToken: config.ttl.idToken,
      RefreshToken: config.ttl.refreshToken,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: 14 * 86400,
      Grant: 14 * 86400,
    },
    renderError: renderProviderError,
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  };

  const provider = new Provider(config.issuer, configuration);
  if (config.issuer.startsWith('https:')) provider.proxy = false;

  // Client secrets are stored as salted, keyed hashes: compare against the hash, never a clear value.
  provider.Client.prototype.compareClientSecret = async function compareHashedSecret(
    this: InstanceType<typeof provider.Client>,
    presented: string,
  ): Promise<boolean> {
    return typeof this.clientSecret === 'string' && verifyClientSecret(secrets, this.clientSecret, presented);
  };

  registerClientCredentialsGrant(provider, resourceServers);
  clientCache.install(provider);
  return provider;
}

export type OidcContext = KoaContextWithOIDC;
