import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA, AMR_PASSWORD_AND_SECOND_FACTOR } from '../../mfa/index.js';
import {
  assertUserGrantAllowed,
  AUTH0_MFA_OTP_GRANT_TYPE,
  invalidCredentials,
  MFA_OTP_GRANT_TYPE,
  optionalParameter,
  passesRateLimit,
  recordSignIn,
  requiredParameter,
  type UserGrantDependencies,
} from './user-grant-policy.js';
import { issueUserTokens } from './user-tokens.js';

const PARAMETERS = new Set(['mfa_token', 'otp', 'recovery_code']);

/**
 * The second step after `mfa_required`: `mfa_token` plus `otp` (authenticator or emailed code) or
 * `recovery_code`. Registered under our URN and under Auth0's URI, so Auth0-style clients work unchanged.
 */
export function registerMfaOtpGrant(provider: Provider, dependencies: UserGrantDependencies): void {
  const { accounts, mfa, metrics, resourceServers } = dependencies;

  const handler = async (ctx: KoaContextWithOIDC): Promise<void> => {
    assertUserGrantAllowed(ctx);
    if (!(await passesRateLimit(ctx, dependencies))) return;
    const mfaToken = requiredParameter(ctx, 'mfa_token');
    const otp = optionalParameter(ctx, 'otp');
    const recoveryCode = optionalParameter(ctx, 'recovery_code');
    if ((otp === undefined) === (recoveryCode === undefined)) {
      throw new errors.InvalidRequest("exactly one of 'otp' or 'recovery_code' is required");
    }
    const client = ctx.oidc.client;
    const grantLabel = String(ctx.oidc.params?.grant_type);

    const context = client ? await mfa.tokens.find(mfaToken, client.clientId) : undefined;
    if (!context) {
      metrics.tokensIssued.inc({ grant: 'mfa-otp', outcome: 'failure' });
      await recordSignIn(ctx, dependencies, {
        action: 'signin.failure',
        outcome: 'failure',
        details: { factor: otp ? 'otp' : 'recovery_code', reason: 'mfa_token_invalid', grant: grantLabel },
      });
      throw new errors.InvalidGrant('mfa_token is invalid, expired, spent or was issued to another client');
    }
    const account = await accounts.findById(context.accountId);
    if (!account || account.status !== 'active') throw invalidCredentials();

    const throttle = await accounts.checkThrottle(account, ctx.ip);
    const verified = throttle.throttled
      ? ({ ok: false } as const)
      : await mfa.verifySecondFactor(account.customerId, recoveryCode !== undefined ? { recoveryCode } : { otp: otp ?? '' });
    if (!verified.ok) {
      const method = recoveryCode !== undefined ? 'recovery_code' : 'otp';
      if (throttle.throttled) {
        metrics.lockouts.inc({ kind: throttle.reason });
      } else {
        await mfa.tokens.recordWrongCode(mfaToken);
        const { ceilingReached } = await accounts.recordFailure(account.customerId, ctx.ip, account);
        if (ceilingReached) metrics.lockouts.inc({ kind: 'ceiling' });
      }
      metrics.mfaChallenges.inc({ method, outcome: 'failure' });
      metrics.tokensIssued.inc({ grant: 'mfa-otp', outcome: 'failure' });
      await recordSignIn(ctx, dependencies, {
        action: throttle.throttled ? 'signin.throttled' : 'signin.failure',
        outcome: 'failure',
        accountId: account.customerId,
        details: { factor: method, reason: throttle.throttled ? 'throttled' : 'wrong_code', grant: grantLabel },
      });
      throw invalidCredentials();
    }
    // The code was right; the token must still be ours to spend (a concurrent request may have won).
    if (!(await mfa.tokens.spend(mfaToken))) throw new errors.InvalidGrant('mfa_token was already used');

    await accounts.recordSignInSuccess(account, ctx.ip);
    metrics.mfaChallenges.inc({ method: verified.method, outcome: 'success' });
    metrics.tokensIssued.inc({ grant: 'mfa-otp', outcome: 'success' });
    await recordSignIn(ctx, dependencies, {
      action: 'signin.success',
      outcome: 'success',
      accountId: account.customerId,
      details: { factor: verified.method, grant: grantLabel },
    });
    await issueUserTokens(provider, resourceServers, ctx, {
      accountId: account.customerId,
      scope: context.scope,
      resource: context.resource,
      authentication: { amr: AMR_PASSWORD_AND_SECOND_FACTOR, acr: ACR_MFA },
      grantType: MFA_OTP_GRANT_TYPE,
    });
  };

  provider.registerGrantType(MFA_OTP_GRANT_TYPE, handler, PARAMETERS);
  provider.registerGrantType(AUTH0_MFA_OTP_GRANT_TYPE, handler, PARAMETERS);
}
