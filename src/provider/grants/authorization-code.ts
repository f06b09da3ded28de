import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { handler as builtInHandler, parameters } from 'oidc-provider/lib/actions/grants/authorization_code.js';

import type { SecondFactorNeeded } from '../second-factor-policy.js';
import { grantHelpersOf } from './bound-grant-helpers.js';
import { assertSignInStillSuffices } from './password-only-sign-in.js';

type ConsumeGrantSource = (ctx: KoaContextWithOIDC, source: { accountId?: string; acr?: string; grantId?: string }, label: string) => Promise<void>;

/**
 * authorization_code as oidc-provider implements it, with one check of ours: a code from a password-only sign-in
 * issues nothing once a second factor is needed (secondFactorNeeded), as the refresh grant and /auth refuse such
 * a sign-in. A code lives a minute: one minted just before the person enrolled an authenticator, redeemed just
 * after, would otherwise still give a password-only access token (and a refresh token).
 *
 * The check runs where the handler consumes the code, after PKCE and redirect_uri are checked, so it answers
 * only a request that would otherwise succeed, and a code presented twice still meets reuse detection first.
 * It reads nothing more for a code made with the second factor.
 */
export function registerAuthorizationCodeGrant(provider: Provider, needsSecondFactor: SecondFactorNeeded): void {
  const boundHelpers = grantHelpersOf(provider);
  const consumeGrantSource = boundHelpers.consumeGrantSource as ConsumeGrantSource;
  const helpers: Record<string, unknown> = {
    ...boundHelpers,
    consumeGrantSource: async (ctx: KoaContextWithOIDC, source: Parameters<ConsumeGrantSource>[1], label: string) => {
      await consumeGrantSource(ctx, source, label);
      await assertSignInStillSuffices(provider, ctx, source, needsSecondFactor);
    },
  };
  provider.registerGrantType(
    'authorization_code',
    async (ctx: KoaContextWithOIDC) => {
      await builtInHandler(provider, helpers, ctx);
    },
    // What oidc-provider registers for this grant with resource indicators enabled.
    new Set([...parameters, 'resource']),
    new Set(['resource']),
  );
}
