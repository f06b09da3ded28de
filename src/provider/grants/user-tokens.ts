import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { issueTokens } from 'oidc-provider/lib/helpers/grant_common.js';

import type { ResourceServerRegistry } from '../resource-servers.js';
import { grantHelpersOf } from './bound-grant-helpers.js';

/** How the user proved who they are, carried into the tokens (RFC 8176 amr, and acr). */
export interface Authentication {
  amr: string[];
  acr: string;
}

const OIDC_SCOPES = new Set(['openid', 'offline_access']);

// extraTokenClaims receives the request context, not the grant's inputs: the grant handlers leave the
// authentication here for it (refresh and code grants find it on their RefreshToken / AuthorizationCode).
const authenticationByRequest = new WeakMap<object, Authentication>();

export function authenticationOfRequest(ctx: KoaContextWithOIDC): Authentication | undefined {
  const own = authenticationByRequest.get(ctx);
  if (own) return own;
  const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
  if (source && Array.isArray(source.amr) && typeof source.acr === 'string') return { amr: source.amr, acr: source.acr };
  return undefined;
}

export interface UserTokenRequest {
  accountId: string;
  scope: string;
  resource: string | undefined;
  authentication: Authentication;
  /** The grant_type recorded on the tokens (`gty`). */
  grantType: string;
}

/**
 * Saves an oidc-provider Grant for the client and account (so introspection, refresh and revocation by
 * grant work as for the code flow), then issues the tokens with oidc-provider's own helper: access token,
 * a refresh token when the client has the refresh_token grant and offline_access was asked for, and an
 * ID token when openid was.
 */
export async function issueUserTokens(
  provider: Provider,
  resourceServers: ResourceServerRegistry,
  ctx: KoaContextWithOIDC,
  request: UserTokenRequest,
): Promise<void> {
  const client = ctx.oidc.client;
  if (!client) throw new Error('issueUserTokens needs an authenticated client');
  const scopes = new Set(request.scope.split(' ').filter(Boolean));
  const resource = request.resource ?? resourceServers.defaultIdentifier;
  const server = resourceServers.get(resource);
  const apiScopes = [...scopes].filter((scope) => !OIDC_SCOPES.has(scope) && server?.scopes.includes(scope));
  const oidcScopes = [...scopes].filter((scope) => OIDC_SCOPES.has(scope));

  const grant = new provider.Grant({ clientId: client.clientId, accountId: request.accountId });
  grant.addResourceScope(resource, apiScopes.join(' '));
  if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
  const grantId = await grant.save();

  authenticationByRequest.set(ctx, request.authentication);
  const source = {
    accountId: request.accountId,
    grantId,
    scope: [...scopes].join(' '),
    scopes,
    // Asked for on the user's behalf: non-rejectable claims, so the ID token (now and on refresh) says how
    // and when the user signed in.
    claims: { id_token: { acr: null, amr: null, auth_time: null } },
    acr: request.authentication.acr,
    amr: request.authentication.amr,
    authTime: Math.floor(Date.now() / 1000),
    resource,
    resourceIndicators: new Set([resource]),
    expiresWithSession: false,
  };
  try {
    await issueTokens(provider, grantHelpersOf(provider), ctx, source, grant, { gty: request.grantType, entityLabel: 'user grant' });
  } catch (error) {
    // Refused at issuance (e.g. extraTokenClaims: a scope the account's roles no longer allow): the grant, and
    // any token already saved under it, must not outlive the refusal. The refusal stays the answer even if the
    // store fails here too (a grant with no token returned is then left to expire).
    await Promise.all([provider.AccessToken.revokeByGrantId(grantId), provider.RefreshToken.revokeByGrantId(grantId), grant.destroy()]).catch(() => undefined);
    throw error;
  }
}
