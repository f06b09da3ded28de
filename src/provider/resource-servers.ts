import type { ResourceServer } from 'oidc-provider';

import type { Config } from '../config/index.js';

/** An API that accepts AuthTokens: its audience, scopes and token format. */
export interface ResourceServerDefinition {
  identifier: string;
  scopes: string[];
  format: 'opaque' | 'jwt';
  accessTokenTtl: number;
}

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
    return new ResourceServerRegistry(config.defaultResource, [
      {
        identifier: config.defaultResource,
        scopes: config.apiScopes,
        format: config.accessTokenFormat,
        accessTokenTtl: config.ttl.accessToken,
      },
    ]);
  }

  get(identifier: string): ResourceServerDefinition | undefined {
    return this.#servers.get(identifier);
  }

  /** What oidc-provider's resourceIndicators.getResourceServerInfo returns for a known server. */
  toProviderInfo(server: ResourceServerDefinition): ResourceServer {
    return {
      scope: server.scopes.join(' '),
      audience: server.identifier,
      accessTokenTTL: server.accessTokenTtl,
      accessTokenFormat: server.format,
      ...(server.format === 'jwt' ? { jwt: { sign: { alg: 'EdDSA' as const } } } : {}),
    };
  }
}
