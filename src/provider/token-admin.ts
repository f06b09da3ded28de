import type Provider from 'oidc-provider';

import type { Store } from '../store/index.js';
import type { JwtRevocationList, VerifiedAccessToken } from '../tokens/index.js';
import { revokeGrantEverywhere } from './adapter.js';

/** What checking one of our JWT access tokens needs: the current keys' verifier and the revocation list. */
export interface JwtAccessTokenChecks {
  verify(token: string): Promise<VerifiedAccessToken | undefined>;
  revocations: JwtRevocationList;
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

export type TokenLookup = { found: false } | { found: true; description: TokenDescription; revoke(): Promise<void> };

/**
 * Finds any token this server issued, whichever client holds it: opaque ones in the store, JWT access
 * tokens by signature, revocation list and grant, as the introspection endpoint judges them.
 */
export async function lookUpToken(provider: Provider, store: Store, value: string, jwts: JwtAccessTokenChecks): Promise<TokenLookup> {
  return looksStructured(value) ? lookUpJwtAccessToken(provider, store, value, jwts) : lookUpOpaqueToken(provider, store, value);
}

async function lookUpJwtAccessToken(provider: Provider, store: Store, value: string, jwts: JwtAccessTokenChecks): Promise<TokenLookup> {
  const claims = await jwts.verify(value);
  if (!claims) return { found: false };
  const grantStands = claims.grant_id === undefined || (await provider.Grant.find(claims.grant_id)) !== undefined;
  const active = grantStands && !(await jwts.revocations.isRevoked(claims));
  // A client-credentials JWT names the client as its subject; only a user's token has a real `sub`.
  const accountId = claims.sub !== claims.client_id ? claims.sub : undefined;
  return {
    found: true,
    description: describe(active, 'access_token', { clientId: claims.client_id, scope: claims.scope, iat: claims.iat, exp: claims.exp }, accountId, claims.aud),
    // Remembered until it expires; like the revocation endpoint, the token's grant goes with it.
    revoke: async () => {
      await jwts.revocations.revokeJwt(claims.jti, claims.exp);
      if (claims.grant_id !== undefined) await revokeGrantEverywhere(store, claims.grant_id);
    },
  };
}

/** JWT access tokens (three dot-separated parts) are not stored: they are checked, not found. */
function looksStructured(value: string): boolean {
  return value.split('.').length === 3;
}

/** An opaque access, client-credentials or refresh token, with the endpoint's checks (expiry, consumption, grant). */
async function lookUpOpaqueToken(provider: Provider, store: Store, value: string): Promise<TokenLookup> {  const access = (await provider.AccessToken.find(value, { ignoreExpiration: true })) ?? (await provider.ClientCredentials.find(value, { ignoreExpiration: true }));
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
  return { found: false };
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
