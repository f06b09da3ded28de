import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { handler as builtInHandler, parameters } from 'oidc-provider/lib/actions/grants/refresh_token.js';
import resolveResource from 'oidc-provider/lib/helpers/resolve_resource.js';
import providerInternals from 'oidc-provider/lib/helpers/weak_cache.js';

import type { SecondFactorNeeded } from '../second-factor-policy.js';
import { grantHelpersOf } from './bound-grant-helpers.js';
import { assertSignInStillSuffices } from './password-only-sign-in.js';

type RefreshToken = InstanceType<Provider['RefreshToken']>;

/**
 * refresh_token as oidc-provider implements it, preceded by two checks of ours on the presented token:
 *
 * - Its own resource resolution. The built-in handler consumes the refresh token and saves the successor first,
 *   and resolves `resource` only then: a `resource` the grant does not hold, or (with no `resource`) the token's
 *   own API once RESOURCE_SERVERS no longer lists it, cost the client its refresh token (the answer,
 *   invalid_target, carries no successor), and its retry counted as reuse and revoked the grant. RFC 6749 5.2:
 *   an error has no such side effect. So the same resolution runs here first, on the stored token, and such a
 *   request is refused with nothing spent. Scopes need nothing of the kind: the built-in handler checks them
 *   before it rotates.
 * - The second factor. A refresh token from a password-only sign-in made while none was needed must not go on
 *   issuing tokens once one is (secondFactorNeeded): the grant is revoked and the client must sign the person in
 *   again, with the second factor.
 */
export function registerRefreshTokenGrant(provider: Provider, needsSecondFactor: SecondFactorNeeded): void {
  const boundHelpers = grantHelpersOf(provider);
  provider.registerGrantType(
    'refresh_token',
    async (ctx: KoaContextWithOIDC) => {
      const refreshToken = await presentedRefreshToken(provider, ctx);
      if (refreshToken) {
        await assertResourceResolves(provider, ctx, refreshToken);
        await assertSignInStillSuffices(provider, ctx, refreshToken, needsSecondFactor);
      }
      await builtInHandler(provider, boundHelpers, ctx);
    },
    // What oidc-provider registers for this grant with resource indicators enabled.
    new Set([...parameters, 'resource']),
    new Set(['resource']),
  );
}

/**
 * The presented refresh token when it is one the built-in handler would go on to rotate. Whatever else is wrong
 * with it is that handler's to answer: a spent token in particular must reach its reuse detection, which revokes
 * the grant. This costs every refresh one more read of the token, before the handler's own.
 */
async function presentedRefreshToken(provider: Provider, ctx: KoaContextWithOIDC): Promise<RefreshToken | undefined> {
  const params = ctx.oidc.params as { refresh_token?: unknown };
  if (typeof params.refresh_token !== 'string') return undefined;
  const refreshToken = await provider.RefreshToken.find(params.refresh_token, { ignoreExpiration: true });
  if (!refreshToken || refreshToken.consumed || refreshToken.isExpired || refreshToken.clientId !== ctx.oidc.client?.clientId) return undefined;
  return refreshToken;
}

/** Throws what the built-in handler would throw, after rotating, for the requested `resource`. */
async function assertResourceResolves(provider: Provider, ctx: KoaContextWithOIDC, refreshToken: RefreshToken): Promise<void> {
  const params = ctx.oidc.params as { resource?: unknown; scope?: unknown };
  // Even without `resource`: the token's own API is used then, which the grant holds but this deployment may
  // since have dropped.
  const { userinfo, resourceIndicators } = providerInternals(provider).configuration.features;
  const scopes = params.scope ? ctx.oidc.requestParamScopes : refreshToken.scopes;
  const resource = await resolveResource(ctx, refreshToken, { userinfo, resourceIndicators }, scopes);
  // Ours throws invalid_target for an API this server does not know.
  if (resource) await resourceIndicators.getResourceServerInfo(ctx, resource, ctx.oidc.client);
}
