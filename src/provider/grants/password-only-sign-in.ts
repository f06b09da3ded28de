import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA } from '../../mfa/index.js';
import type { SecondFactorNeeded } from '../second-factor-policy.js';

/** What a sign-in left behind that turns into tokens: a refresh token, an authorization code. */
interface SignInSource {
  accountId?: string;
  acr?: string;
  grantId?: string;
}

/**
 * Refuses, and revokes the grant of, what a password-only sign-in left behind when a second factor is needed
 * now (secondFactorNeeded). Revoked, not only refused: the person enrolled a factor, or policy demanded one, to
 * shut password-only access out; removing the factor again later must not bring this grant back.
 */
export async function assertSignInStillSuffices(
  provider: Provider,
  ctx: KoaContextWithOIDC,
  source: SignInSource,
  needsSecondFactor: SecondFactorNeeded,
): Promise<void> {
  if (source.acr === ACR_MFA || !source.accountId) return;
  if (!(await needsSecondFactor(source.accountId, ctx.oidc.client))) return;
  if (source.grantId) await provider.RefreshToken.revokeByGrantId(source.grantId);
  throw new errors.InvalidGrant('a second factor is now required: sign in again');
}
