import type { KoaContextWithOIDC } from 'oidc-provider';

/** Scopes defined by OpenID Connect: they concern the user's identity and the userinfo endpoint, not an API. */
const OPENID_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email', 'address', 'phone']);

/**
 * True when a request asks for `openid` and nothing but OpenID Connect scopes. Such a request gets an access
 * token for the userinfo endpoint: oidc-provider accepts only tokens without an audience there, so it must
 * not default to an API audience.
 */
export function requestsOnlyOpenIdScopes(ctx: KoaContextWithOIDC): boolean {
  const requested = ctx.oidc.params?.scope;
  if (typeof requested !== 'string') return false;
  const scopes = requested.split(' ').filter(Boolean);
  return scopes.includes('openid') && scopes.every((scope) => OPENID_SCOPES.has(scope));
}
