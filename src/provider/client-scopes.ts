import type { AdapterPayload } from 'oidc-provider';

import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';

/**
 * The claims each OpenID scope releases. A scope named here with a list is one oidc-provider supports even
 * when `scopes` does not list it (its collectScopes), so supportedScopes must derive from this same object.
 */
export const OIDC_SCOPE_CLAIMS = {
  sid: null,
  iss: null,
  // acr, amr and auth_time ride on the `openid` scope, so every ID token says how the person signed in
  // (oidc-provider otherwise returns them only when requested); sid and iss stay standalone claims.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email'],
  profile: ['customer_id', 'roles'],
} as const satisfies Record<string, readonly string[] | null>;

/**
 * Every scope this deployment defines: the built-in OpenID ones and every configured API's. The provider is
 * configured with exactly these, so a stored client may be handed to it only with scopes from this list.
 */
export function supportedScopes(config: Pick<Config, 'apiScopes' | 'resourceServers'>): string[] {
  const claimScopes = Object.entries(OIDC_SCOPE_CLAIMS)
    .filter(([, claims]) => claims !== null)
    .map(([scope]) => scope);
  return [...new Set(['openid', 'offline_access', ...config.apiScopes, ...config.resourceServers.flatMap((server) => server.scopes), ...claimScopes])];
}

/** The scopes of a client's stored `scope` value that `supported` lacks, in stored order. */
export function unknownScopesOf(scope: unknown, supported: ReadonlySet<string>): string[] {
  if (typeof scope !== 'string') return [];
  return scope.split(' ').filter((value) => value.length > 0 && !supported.has(value));
}

/** Client metadata with the given scopes left out of `scope` (a copy; the stored payload stays as it is). */
export function withoutScopes(metadata: AdapterPayload, leftOut: readonly string[]): AdapterPayload {
  if (leftOut.length === 0 || typeof metadata.scope !== 'string') return metadata;
  const kept = metadata.scope.split(' ').filter((value) => value.length > 0 && !leftOut.includes(value));
  const copy: AdapterPayload = { ...metadata };
  if (kept.length > 0) copy.scope = kept.join(' ');
  else delete copy.scope;
  return copy;
}

/**
 * What oidc-provider loads for a stored client (the Client adapter's `find`, the one way it reads clients).
 * Scopes of an API since removed from RESOURCE_SERVERS stay stored, so configuring the API again gives them
 * back, but are left out here: oidc-provider refuses to load a client naming a scope it does not support,
 * which would fail every request of the client, for its other scopes too. Asking for a left-out scope is then
 * invalid_scope, as for any scope the client may not have.
 *
 * A client left with none of its scopes is not loaded at all (undefined: invalid_client): oidc-provider reads
 * a client without `scope` as one allowed every supported scope, at /auth and in its grants.
 */
export function clientMetadataForProvider(
  clientId: string,
  stored: AdapterPayload,
  supported: ReadonlySet<string>,
  logger: Logger,
): AdapterPayload | undefined {
  const unknownScopes = unknownScopesOf(stored.scope, supported);
  if (unknownScopes.length === 0) return stored;
  const effective = withoutScopes(stored, unknownScopes);
  if (effective.scope === undefined) {
    logger.warn(
      { clientId, unknownScopes },
      'client not loaded: none of its allowed scopes is defined by a configured API or built in (fix its scopes through the admin API, or configure the API again)',
    );
    return undefined;
  }
  logger.warn(
    { clientId, unknownScopes },
    'client scopes no configured API or built-in scope defines are left out until one does (the stored client keeps them; the admin API can remove them)',
  );
  return effective;
}
