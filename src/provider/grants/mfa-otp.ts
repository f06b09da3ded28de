import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { assertScopesPermittedByRoles } from '../token-claims.js';
import { apiScopesOf } from './scope-policy.js';
import { completeSignIn, refuseSignIn } from './sign-in-outcome.js';
import {
  assertUserGrantAllowed,
  AUTH0_MFA_OTP_GRANT_TYPE,
  invalidCredentials,
  MFA_OTP_GRANT_TYPE,
  optionalParameter,
  passesRateLimit,
  requiredParameter,
  type UserGrantDependencies,
} from './user-grant-policy.js';

const PARAMETERS = new Set(['mfa_token', 'otp', 'recovery_code']);

/**
 * The second step after `mfa_required`: `mfa_token` plus `otp` (authenticator or emailed code) or
 * `recovery_code`. Registered under our URN and under Auth0's URI, so Auth0-style clients work unchanged.
 */
export function registerMfaOtpGrant(provider: Provider, dependencies: UserGrantDependencies): void {
  const { accounts, mfa, metrics } = dependencies;

  const handler = async (ctx: KoaContextWithOIDC): Promise<void> => {
    assertUserGrantAllowed(ctx);
    if (!(await passesRateLimit(ctx, dependencies))) return;
    const mfaToken = requiredParameter(ctx, 'mfa_token');
    const otp = optionalParameter(ctx, 'otp');
    const recoveryCode = optionalParameter(ctx, 'recovery_code');
    if ((otp === undefined) === (recoveryCode === undefined)) {
      throw new errors.InvalidRequest("exactly one of 'otp' or 'recovery_code' is required");
    }
    const outcome = { grant: 'mfa-otp', grantType: String(ctx.oidc.params?.grant_type) } as const;
    const factor = recoveryCode !== undefined ? 'recovery_code' : 'otp';

    // The attempt is reserved on the token before the code is checked, so concurrent codes cannot pass its limit.
    const context = await mfa.tokens.reserveAttempt(mfaToken, ctx.oidc.client?.clientId ?? '');
    if (!context) {
      await refuseSignIn(ctx, dependencies, { ...outcome, account: undefined, factor, reason: 'mfa_token_invalid', throttled: false });
      throw new errors.InvalidGrant('mfa_token is invalid, expired, spent or was issued to another client');
    }
    const account = await accounts.findById(context.accountId);
    if (!account || account.status !== 'active') {
      await mfa.tokens.releaseAttempt(mfaToken);
      throw invalidCredentials();
    }
    try {
      // Roles may have changed since mfa_required (the password grant checked them then): a scope they no longer
      // allow is refused before the code is checked, so no code is spent and no sign-in counts as a success.
      assertScopesPermittedByRoles(apiScopesOf(context.scope), account.roles, dependencies.scopeRoleRequirements);
    } catch (error) {
      await mfa.tokens.releaseAttempt(mfaToken);
      await refuseSignIn(ctx, dependencies, { ...outcome, account, factor, reason: 'scope_requires_role', throttled: false });
      throw error;
    }

    let verified: Awaited<ReturnType<typeof mfa.verifySecondFactorGuarded>>;
    try {
      verified = await mfa.verifySecondFactorGuarded(account, recoveryCode !== undefined ? { recoveryCode } : { otp: otp ?? '' }, ctx.ip);
    } catch (error) {
      await mfa.tokens.releaseAttempt(mfaToken).catch(() => undefined);
      throw error;
    }
    if (!verified.ok) {
      // A throttled attempt never checked the code: it does not use up one of the token's attempts.
      if (verified.reason === 'throttled') {
        metrics.lockouts.inc({ kind: 'backoff' });
        await mfa.tokens.releaseAttempt(mfaToken);
      } else await mfa.tokens.recordWrongCode(mfaToken);
      if (verified.ceilingReached) metrics.lockouts.inc({ kind: 'ceiling' });
      throw await refuseSignIn(ctx, dependencies, { ...outcome, account, factor, reason: verified.reason, throttled: verified.reason === 'throttled' });
    }
    // The code was right; the token must still be ours to spend (a concurrent request may have won).
    if (!(await mfa.tokens.spend(mfaToken))) throw new errors.InvalidGrant('mfa_token was already used');

    await completeSignIn(provider, ctx, dependencies, {
      ...outcome,
      account,
      secondFactor: verified.method,
      scope: context.scope,
      resource: context.resource,
    });
  };

  provider.registerGrantType(MFA_OTP_GRANT_TYPE, handler, PARAMETERS);
  provider.registerGrantType(AUTH0_MFA_OTP_GRANT_TYPE, handler, PARAMETERS);
}
