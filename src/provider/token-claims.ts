import { errors, type AccessToken, type Account, type ClientCredentials, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';

import { clientRoles } from './introspection-policy.js';

/** Claims we add to every access token (JWT payload, or opaque token introspection). */
// A type alias, not an interface: oidc-provider's typings want an index-signature-compatible object.
export type AccessTokenExtraClaims = {
  /** A client-credentials token's subject: the client (a user's token has its account as `sub` already). */
  sub?: string;
  roles?: string[];
  amr?: string[];
  acr?: string;
  customer_id?: string;
};

export interface AccessTokenClaimSources {
  scopeRoleRequirements: Record<string, string>;
  /** The provider's findAccount (read per call: the configuration defines it after this is built). */
  findAccount: () => FindAccount | undefined;
  /** How the user signed in, when the grant recorded it for this request (password, mfa-otp grants). */
  authentication: (ctx: KoaContextWithOIDC) => { amr: string[]; acr: string } | undefined;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : undefined;
}

/** The role a scope requires: an exact entry, or the longest `prefix*` pattern matching it. */
export function requiredRole(scope: string, requirements: Record<string, string>): string | undefined {
  if (requirements[scope] !== undefined) return requirements[scope];
  let best: { length: number; role: string } | undefined;
  for (const [pattern, role] of Object.entries(requirements)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (scope.startsWith(prefix) && (!best || prefix.length > best.length)) best = { length: prefix.length, role };
  }
  return best?.role;
}

/** Throws invalid_scope naming the first scope the subject's roles do not allow. */
export function assertScopesPermittedByRoles(scopes: string[], roles: string[], requirements: Record<string, string>): void {
  const held = new Set(roles);
  for (const scope of scopes) {
    const role = requiredRole(scope, requirements);
    if (role !== undefined && !held.has(role)) {
      throw new errors.InvalidScope(`scope requires the role ${role}`, scope);
    }
  }
}

/**
 * oidc-provider's `extraTokenClaims`: runs whenever an access token is issued, by any grant. A user's token
 * carries the account's roles (read through the provider's findAccount, whose `claims()` may return `roles`
 * and `customer_id`) and how the user authenticated (`amr`); a client-credentials token carries the client's
 * own roles. A user's token does not inherit the client's roles: a privileged client must not lift what its
 * users may do. A scope that requires a role the subject lacks fails the issuance with invalid_scope.
 */
export function accessTokenClaims({ scopeRoleRequirements, findAccount, authentication }: AccessTokenClaimSources) {
  return async (ctx: KoaContextWithOIDC, token: AccessToken | ClientCredentials): Promise<AccessTokenExtraClaims> => {
    const claims: AccessTokenExtraClaims = {};
    const accountId = 'accountId' in token ? token.accountId : undefined;
    if (accountId) {
      const account = await loadAccount(ctx, accountId, token, findAccount());
      const accountClaims: Record<string, unknown> = account ? await account.claims('access_token', token.scope ?? '', {}, []) : {};
      claims.roles = stringList(accountClaims.roles) ?? [];
      claims.customer_id = typeof accountClaims.customer_id === 'string' ? accountClaims.customer_id : accountId;
      const recorded = authentication(ctx);
      if (recorded) {
        claims.amr = recorded.amr;
        claims.acr = recorded.acr;
      } else {
        const { AuthorizationCode: code, RefreshToken: refreshToken } = ctx.oidc.entities;
        const amr = stringList(code?.amr ?? refreshToken?.amr ?? ctx.oidc.session?.amr);
        if (amr) claims.amr = amr;
      }
    } else {
      const client = ctx.oidc.client;
      claims.roles = client ? clientRoles(client) : [];
      // The JWT format makes the client the subject (RFC 9068 2.2); an opaque token's introspection answer
      // had no sub at all, so an API saw a partner's subject only when the API's tokens were JWTs.
      if (client) claims.sub = client.clientId;
    }
    assertScopesPermittedByRoles(String(token.scope ?? '').split(' ').filter(Boolean), claims.roles, scopeRoleRequirements);
    return claims;
  };
}

/** The account the grant already loaded (refresh, code, password grants do), else the configured findAccount. */
async function loadAccount(
  ctx: KoaContextWithOIDC,
  accountId: string,
  token: AccessToken | ClientCredentials,
  findAccount: FindAccount | undefined,
): Promise<Account | undefined> {
  const loaded = ctx.oidc.entities.Account;
  if (loaded?.accountId === accountId) return loaded;
  return (await findAccount?.(ctx, accountId, token as AccessToken)) ?? undefined;
}
