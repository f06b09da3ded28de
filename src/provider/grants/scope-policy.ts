import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { ResourceServerRegistry } from '../resource-servers.js';

const OIDC_SCOPES = new Set(['openid', 'offline_access']);

/**
 * The one API a token request targets. A token has one audience, so naming several is invalid_target (RFC 8707
 * 2: a token for several resources only if it can serve them all), as oidc-provider's client_credentials answers.
 */
function requestedResource(ctx: KoaContextWithOIDC, resourceServers: ResourceServerRegistry): string {
  const { resource } = ctx.oidc.params as { resource?: string | string[] };
  if (!Array.isArray(resource)) return resource ?? resourceServers.defaultIdentifier;
  if (new Set(resource).size > 1) throw new errors.InvalidTarget('only a single resource indicator value is supported for this grant type');
  return resource[0] ?? resourceServers.defaultIdentifier;
}

/** The requested scopes an access token carries: the API ones (openid and offline_access shape other tokens). */
export function requestedApiScopes(ctx: KoaContextWithOIDC): string[] {
  return apiScopesOf(String(ctx.oidc.params?.scope ?? ''));
}

/** The API scopes of a space-separated scope value (openid and offline_access left out). */
export function apiScopesOf(scope: string): string[] {
  return scope.split(' ').filter((value) => value.length > 0 && !OIDC_SCOPES.has(value));
}

/**
 * `resource` given at most once, for the user grants: their Grant and mfa_token keep one resource, and issuance
 * would otherwise resolve a repeated one to the default API (oidc-provider's defaultResource), not to it.
 */
export function singleResourceParameter(ctx: KoaContextWithOIDC): string | undefined {
  const { resource } = ctx.oidc.params as { resource?: unknown };
  if (Array.isArray(resource)) throw new errors.InvalidTarget('only a single resource indicator value is supported for this grant type');
  return typeof resource === 'string' && resource.length > 0 ? resource : undefined;
}

/**
 * `scope=api:read,api:write` is one scope named `api:read,api:write` (RFC 6749 3.3 separates scopes by spaces),
 * a common mistake of partners used to comma-separated lists: the answer says so instead of only refusing it.
 */
function scopeNotAllowedDescription(scope: string): string {
  const description = 'requested scope is not allowed for this client';
  return scope.includes(',') ? `${description} (scopes are separated by spaces, not commas: RFC 6749 3.3)` : description;
}

/**
 * Every requested scope must be allowed to the client and offered by the targeted resource server;
 * otherwise the request fails with invalid_scope naming the scope (RFC 6749 5.2), instead of a token
 * quietly carrying less than was asked for. A resource we do not know is invalid_target (RFC 8707) here,
 * before any credential is checked: found only at issuance, it came after the password grant had spent
 * the person's authenticator code.
 */
export function assertScopesAllowed(
  ctx: KoaContextWithOIDC,
  resourceServers: ResourceServerRegistry,
  options: { allowOidcScopes?: boolean } = {},
): void {
  const server = resourceServers.get(requestedResource(ctx, resourceServers));
  if (!server && (ctx.oidc.params as { resource?: unknown }).resource !== undefined) {
    throw new errors.InvalidTarget('the requested resource is not known to this server');
  }
  const requested = String(ctx.oidc.params?.scope ?? '')
    .split(' ')
    .filter(Boolean);
  if (requested.length === 0) return;
  const client = ctx.oidc.client;
  // Arrays, not Sets: a request names a scope or three, and this runs on every token request.
  const allowed = String(client?.scope ?? '').split(' ');
  const offered = server?.scopes ?? [];
  for (const scope of requested) {
    if (!allowed.includes(scope)) throw new errors.InvalidScope(scopeNotAllowedDescription(scope), scope);
    // openid / offline_access belong to the user grants (password), not to a resource server.
    if (options.allowOidcScopes && OIDC_SCOPES.has(scope)) continue;
    if (server && !offered.includes(scope)) {
      throw new errors.InvalidScope('requested scope is not offered by the requested resource', scope);
    }
  }
}
