import type { Client } from 'oidc-provider';

import { MFA_REQUIRED_METADATA } from './grants/user-grant-policy.js';

export interface SecondFactorPolicyDependencies {
  /** Whether the account has a second factor enrolled. */
  isEnrolled(accountId: string): Promise<boolean>;
  /** Whether policy makes the account need one (REQUIRE_MFA, or an operator's require-mfa on it). */
  secondFactorRequired(accountId: string): Promise<boolean>;
}

/** Whether a token for this account and client may now be issued only after a second factor. */
export type SecondFactorNeeded = (accountId: string, client: Client | undefined) => Promise<boolean>;

/**
 * A second factor is needed when the client requires one, the account has one enrolled, or policy demands one.
 * Sign-in asks this once; a provider session or a refresh token that a password-only sign-in left behind is asked
 * again where it turns into tokens (the step-up check at /auth, the refresh grant), since any of the three may
 * have changed since: an authenticator enrolled after a password was phished must shut out whoever phished it.
 */
export function secondFactorNeeded(dependencies: SecondFactorPolicyDependencies): SecondFactorNeeded {
  return async (accountId, client) => {
    if (client?.metadata()[MFA_REQUIRED_METADATA] === true) return true;
    // Side by side: for the most common answer (no factor, no policy) both are read, in one round trip's time.
    const [enrolled, required] = await Promise.all([dependencies.isEnrolled(accountId), dependencies.secondFactorRequired(accountId)]);
    return enrolled || required;
  };
}
