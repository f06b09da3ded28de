import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { Account } from '../../accounts/index.js';
import { ACR_MFA, ACR_PASSWORD, AMR_PASSWORD_AND_SECOND_FACTOR, AMR_PASSWORD_ONLY, type MfaMethod } from '../../mfa/index.js';
import { invalidCredentials, recordSignIn, type UserGrantDependencies } from './user-grant-policy.js';
import { issueUserTokens } from './user-tokens.js';

/** The metric label of a user grant. */
export type UserGrantLabel = 'password' | 'mfa-otp';

/** The factor a sign-in event is about. */
export type SignInFactor = 'password' | 'otp' | MfaMethod;

export interface CompletedSignIn {
  account: Account;
  /** The second factor used, or undefined for a password alone. */
  secondFactor: MfaMethod | undefined;
  scope: string;
  resource: string | undefined;
  grant: UserGrantLabel;
  /** The grant_type as requested (our URN or Auth0's alias), for the audit trail and `gty`. */
  grantType: string;
}

/** Audits and counts a successful sign-in, then issues the tokens with the matching amr/acr. */
export async function completeSignIn(
  provider: Provider,
  ctx: KoaContextWithOIDC,
  dependencies: UserGrantDependencies,
  signIn: CompletedSignIn,
): Promise<void> {
  const { account, secondFactor } = signIn;
  if (secondFactor) dependencies.metrics.mfaChallenges.inc({ method: secondFactor, outcome: 'success' });
  await recordSignIn(ctx, dependencies, {
    action: 'signin.success',
    outcome: 'success',
    accountId: account.customerId,
    details: { factor: secondFactor ?? 'password', grant: signIn.grantType },
  });
  await issueUserTokens(provider, dependencies.resourceServers, ctx, {
    accountId: account.customerId,
    scope: signIn.scope,
    resource: signIn.resource,
    authentication: secondFactor
      ? { amr: AMR_PASSWORD_AND_SECOND_FACTOR, acr: ACR_MFA }
      : { amr: AMR_PASSWORD_ONLY, acr: ACR_PASSWORD },
    grantType: signIn.grantType,
  });
}

export interface RefusedSignIn {
  account: Account | undefined;
  factor: SignInFactor;
  /** Why (audit only: the caller always hears `invalid credentials`). */
  reason: string;
  throttled: boolean;
  grant: UserGrantLabel;
  grantType: string;
}

/** Audits and counts a refused sign-in, and returns the one error every refusal answers with. */
export async function refuseSignIn(ctx: KoaContextWithOIDC, dependencies: UserGrantDependencies, refusal: RefusedSignIn): Promise<Error> {
  const { metrics } = dependencies;
  if (refusal.factor !== 'password') metrics.mfaChallenges.inc({ method: refusal.factor, outcome: 'failure' });
  await recordSignIn(ctx, dependencies, {
    action: refusal.throttled ? 'signin.throttled' : 'signin.failure',
    outcome: 'failure',
    ...(refusal.account ? { accountId: refusal.account.customerId } : {}),
    details: { factor: refusal.factor, reason: refusal.reason, grant: refusal.grantType },
  });
  return invalidCredentials();
}
