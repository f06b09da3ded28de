import type Provider from 'oidc-provider';

import type { Store } from '../store/index.js';
import { collectionName, revokeGrantEverywhere } from './adapter.js';

/** Models holding a client's credentials and grants, each document tagged with its clientId by the adapter. */
const CLIENT_BOUND_MODELS = [
  'AccessToken',
  'ClientCredentials',
  'RefreshToken',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'Grant',
] as const;

/**
 * Deletes every stored token, code and grant of a client and returns how many records went. This reaches
 * opaque tokens only: JWT access tokens are not stored, so they stay valid until they expire unless the
 * token-lifecycle module remembers a "revoked before" time for the client.
 */
export async function revokeOpaqueTokensOfClient(store: Store, clientId: string): Promise<number> {
  const counts = await Promise.all(CLIENT_BOUND_MODELS.map((model) => store.collection(collectionName(model)).deleteMany({ clientId })));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** What an operator learns about a token: RFC 7662 fields, never the value itself. */
export interface TokenDescription {
  active: boolean;
  token_type?: 'access_token' | 'refresh_token';
  client_id?: string;
  sub?: string;
  scope?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
}

export type TokenLookup = { found: false; reason: 'unknown' | 'structured' } | { found: true; description: TokenDescription; revoke(): Promise<void> };

/** JWT access tokens (three dot-separated parts) are not stored, so they cannot be found here. */
function looksStructured(value: string): boolean {
  return value.split('.').length === 3;
}

/**
 * Finds an opaque token this server issued (access, client-credentials or refresh token), whichever
 * client it belongs to, with the checks the introspection endpoint applies (expiry, consumption, grant).
 */
export async function lookUpOpaqueToken(provider: Provider, store: Store, value: string): Promise<TokenLookup> {
  if (looksStructured(value)) return { found: false, reason: 'structured' };
  const access = (await provider.AccessToken.find(value, { ignoreExpiration: true })) ?? (await provider.ClientCredentials.find(value, { ignoreExpiration: true }));
  if (access) {
    const grantId = 'grantId' in access ? access.grantId : undefined;
    const active = !access.isExpired && (grantId === undefined || (await provider.Grant.find(grantId)) !== undefined);
    return {
      found: true,
      description: describe(active, 'access_token', access, 'accountId' in access ? access.accountId : undefined, access.aud),
      revoke: async () => {
        await access.destroy();
      },
    };
  }
  const refresh = await provider.RefreshToken.find(value, { ignoreExpiration: true });
  if (refresh) {
    const active = !refresh.isExpired && !refresh.consumed && refresh.grantId !== undefined && (await provider.Grant.find(refresh.grantId)) !== undefined;
    return {
      found: true,
      description: describe(active, 'refresh_token', refresh, refresh.accountId, undefined),
      // RFC 7009 2.1: revoking a refresh token revokes the grant's access tokens too.
      revoke: async () => {
        await refresh.destroy();
        if (refresh.grantId) await revokeGrantEverywhere(store, refresh.grantId);
      },
    };
  }
  return { found: false, reason: 'unknown' };
}

function describe(
  active: boolean,
  tokenType: TokenDescription['token_type'],
  token: { clientId?: string | undefined; scope?: string | undefined; iat: number; exp?: number | undefined },
  accountId: string | undefined,
  aud: string | string[] | undefined,
): TokenDescription {
  if (!active) return { active: false };
  const description: TokenDescription = { active: true, token_type: tokenType, iat: token.iat };
  if (token.clientId) description.client_id = token.clientId;
  if (accountId) description.sub = accountId;
  if (token.scope) description.scope = token.scope;
  if (aud) description.aud = aud;
  if (token.exp) description.exp = token.exp;
  return description;
}
