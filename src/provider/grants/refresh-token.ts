import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { handler as builtInHandler, parameters } from 'oidc-provider/lib/actions/grants/refresh_token.js';
import resolveResource from 'oidc-provider/lib/helpers/resolve_resource.js';
import providerInternals from 'oidc-provider/lib/helpers/weak_cache.js';

import { grantHelpersOf } from './bound-grant-helpers.js';

/**
 * refresh_token as oidc-provider implements it, preceded by its own resource resolution. The built-in handler
 * consumes the refresh token and saves the successor first, and resolves `resource` only then: a `resource`
 * the grant does not hold, or (with no `resource`) the token's own API once RESOURCE_SERVERS no longer lists
 * it, cost the client its refresh token (the answer, invalid_target, carries no successor), and its retry
 * counted as reuse and revoked the grant. RFC 6749 5.2: an error has no such side effect. So the same
 * resolution runs here first, on the stored token, and such a request is refused with nothing spent. Scopes
 * need nothing of the kind: the built-in handler checks them before it rotates.
 */
export function registerRefreshTokenGrant(provider: Provider): void {
  const boundHelpers = grantHelpersOf(provider);
  provider.registerGrantType(
    'refresh_token',
    async (ctx: KoaContextWithOIDC) => {
      await assertResourceResolves(provider, ctx);
      await builtInHandler(provider, boundHelpers, ctx);
    },
    // What oidc-provider registers for this grant with resource indicators enabled.
    new Set([...parameters, 'resource']),
    new Set(['resource']),
  );
}

/** Throws what the built-in handler would throw, after rotating, for the requested `resource`. */
async function assertResourceResolves(provider: Provider, ctx: KoaContextWithOIDC): Promise<void> {
  const params = ctx.oidc.params as { refresh_token?: unknown; resource?: unknown; scope?: unknown };
  // Even without `resource`: the token's own API is used then, which the grant holds but this deployment may
  // since have dropped. This costs every refresh one more read of the token, before the handler's own.
  if (typeof params.refresh_token !== 'string') return;
  const refreshToken = await provider.RefreshToken.find(params.refresh_token, { ignoreExpiration: true });
  // Whatever else is wrong with the token is the built-in handler's to answer. A spent token in particular
  // must reach its reuse detection, which revokes the grant, whatever `resource` says.
  if (!refreshToken || refreshToken.consumed || refreshToken.isExpired || refreshToken.clientId !== ctx.oidc.client?.clientId) return;
  const { userinfo, resourceIndicators } = providerInternals(provider).configuration.features;
  const scopes = params.scope ? ctx.oidc.requestParamScopes : refreshToken.scopes;
  const resource = await resolveResource(ctx, refreshToken, { userinfo, resourceIndicators }, scopes);
  // Ours throws invalid_target for an API this server does not know.
  if (resource) await resourceIndicators.getResourceServerInfo(ctx, resource, ctx.oidc.client);
}
