import type { ResourceServer } from 'oidc-provider';

import type { Config, ResourceServerConfig, SigningAlg } from '../config/index.js';

/** An API that accepts AuthTokens: its audience, scopes, token format and (for JWTs) signing algorithm. */
export type ResourceServerDefinition = ResourceServerConfig;

/** The resource servers this deployment knows, keyed by resource indicator (RFC 8707). */
export class ResourceServerRegistry {
  readonly #servers = new Map<string, ResourceServerDefinition>();

  constructor(
    readonly defaultIdentifier: string,
    servers: ResourceServerDefinition[],
  ) {
    for (const server of servers) this.#servers.set(server.identifier, server);
  }

  static fromConfig(config: Config): ResourceServerRegistry {
    return new ResourceServerRegistry(config.defaultResource, config.resourceServers);
  }

  get(identifier: string): ResourceServerDefinition | undefined {
    return this.#servers.get(identifier);
  }

  all(): ResourceServerDefinition[] {
    return [...this.#servers.values()];
  }

  /**
   * What oidc-provider's resourceIndicators.getResourceServerInfo returns for a known server. JWTs name the
   * key that signs (`signingKid`): oidc-provider would otherwise take the first key of the algorithm in its
   * keystore, which during a rotation may be a key that is published but not yet allowed to sign.
   */
  toProviderInfo(server: ResourceServerDefinition, signingKid: (alg: SigningAlg) => string | undefined): ResourceServer {
    return {
      scope: server.scopes.join(' '),
      audience: server.identifier,
      // Unset: oidc-provider's ttl functions (provider/index.ts) give the token kind's own lifetime.
      ...(server.accessTokenTtl !== undefined ? { accessTokenTTL: server.accessTokenTtl } : {}),
      accessTokenFormat: server.format,
      ...(server.format === 'jwt'
        ? { jwt: { sign: { alg: server.signingAlg, kid: signingKid(server.signingAlg) } } }
        : {}),
    };
  }
}
