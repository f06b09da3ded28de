import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA, ACR_PASSWORD, AMR_PASSWORD_AND_SECOND_FACTOR, AMR_PASSWORD_ONLY } from '../../mfa/index.js';
import { assertScopesAllowed } from './scope-policy.js';
import {
  assertUserGrantAllowed,
  invalidCredentials,
  MFA_REQUIRED_METADATA,
  optionalParameter,
  passesRateLimit,
  recordSignIn,
  requiredParameter,
  type UserGrantDependencies,
} from './user-grant-policy.js';
import { issueUserTokens } from './user-tokens.js';

const PARAMETERS = new Set(['username', 'password', 'otp', 'scope', 'resource']);

/**
 * `grant_type=password` (RFC 6749 4.3) for confidential first-party clients that are allowed it, with the
 * second factor enforced here: in the same request (`otp`), or in two steps (403 mfa_required with an
 * mfa_token, then the mfa-otp grant).
 */
export function registerPasswordGrant(provider: Provider, dependencies: UserGrantDependencies): void {
  const { accounts, mfa, metrics, resourceServers } = dependencies;

  provider.registerGrantType(
    'password',
    async (ctx: KoaContextWithOIDC) => {
      assertUserGrantAllowed(ctx);
      if (!(await passesRateLimit(ctx, dependencies))) return;
      const username = requiredParameter(ctx, 'username');
      const password = requiredParameter(ctx, 'password');
      const otp = optionalParameter(ctx, 'otp');
      assertScopesAllowed(ctx, resourceServers, { allowOidcScopes: true });
      const client = ctx.oidc.client;
      if (!client) throw invalidCredentials();

      const check = await accounts.verifyPassword(username, password, ctx.ip);
      if (!check.ok) {
        metrics.tokensIssued.inc({ grant: 'password', outcome: 'failure' });
        if (check.reason === 'throttled') metrics.lockouts.inc({ kind: check.throttle?.throttled ? check.throttle.reason : 'backoff' });
        await recordSignIn(ctx, dependencies, {
          action: check.reason === 'throttled' ? 'signin.throttled' : 'signin.failure',
          outcome: 'failure',
          ...(check.account ? { accountId: check.account.customerId } : {}),
          details: { factor: 'password', reason: check.reason, grant: 'password' },
        });
        throw invalidCredentials();
      }

      const { account } = check;
      const methods = await mfa.methodsFor(account.customerId);
      const mfaRequired = methods.length > 0 || client.metadata()[MFA_REQUIRED_METADATA] === true;
      const scope = String(ctx.oidc.params?.scope ?? '');
      const resource = optionalParameter(ctx, 'resource');

      if (!mfaRequired) {
        await accounts.recordSignInSuccess(account, ctx.ip);
        await recordSignIn(ctx, dependencies, {
          action: 'signin.success',
          outcome: 'success',
          accountId: account.customerId,
          details: { factor: 'password', grant: 'password' },
        });
        metrics.tokensIssued.inc({ grant: 'password', outcome: 'success' });
        await issueUserTokens(provider, resourceServers, ctx, {
          accountId: account.customerId,
          scope,
          resource,
          authentication: { amr: AMR_PASSWORD_ONLY, acr: ACR_PASSWORD },
          grantType: 'password',
        });
        return;
      }

      if (methods.length === 0) {
        // The client demands a second factor the account does not have: it must enroll (login pages) first.
        await recordSignIn(ctx, dependencies, {
          action: 'signin.failure',
          outcome: 'failure',
          accountId: account.customerId,
          details: { factor: 'password', reason: 'mfa_not_enrolled', grant: 'password' },
        });
        metrics.tokensIssued.inc({ grant: 'password', outcome: 'failure' });
        throw new errors.InvalidGrant('this client requires a second factor and the account has none enrolled');
      }

      if (otp === undefined) {
        const { mfaToken, expiresIn } = await mfa.tokens.issue({
          clientId: client.clientId,
          accountId: account.customerId,
          scope,
          ...(resource ? { resource } : {}),
        });
        metrics.tokensIssued.inc({ grant: 'password', outcome: 'mfa_required' });
        await recordSignIn(ctx, dependencies, {
          action: 'signin.mfa_required',
          outcome: 'success',
          accountId: account.customerId,
          details: { factor: 'password', grant: 'password', methods },
        });
        // Written here: oidc-provider's error renderer would drop mfa_token and mfa_methods.
        ctx.status = 403;
        ctx.body = {
          error: 'mfa_required',
          error_description: 'a second factor is required to issue tokens for this account',
          mfa_token: mfaToken,
          mfa_token_expires_in: expiresIn,
          mfa_methods: methods,
        };
        return;
      }

      const verified = await mfa.verifySecondFactor(account.customerId, { otp });
      if (!verified.ok) {
        const { ceilingReached } = await accounts.recordFailure(account.customerId, ctx.ip, account);
        if (ceilingReached) metrics.lockouts.inc({ kind: 'ceiling' });
        metrics.mfaChallenges.inc({ method: 'otp', outcome: 'failure' });
        metrics.tokensIssued.inc({ grant: 'password', outcome: 'failure' });
        await recordSignIn(ctx, dependencies, {
          action: 'signin.failure',
          outcome: 'failure',
          accountId: account.customerId,
          details: { factor: 'otp', reason: 'wrong_code', grant: 'password' },
        });
        throw invalidCredentials();
      }
      await accounts.recordSignInSuccess(account, ctx.ip);
      metrics.mfaChallenges.inc({ method: verified.method, outcome: 'success' });
      metrics.tokensIssued.inc({ grant: 'password', outcome: 'success' });
      await recordSignIn(ctx, dependencies, {
        action: 'signin.success',
        outcome: 'success',
        accountId: account.customerId,
        details: { factor: verified.method, grant: 'password' },
      });
      await issueUserTokens(provider, resourceServers, ctx, {
        accountId: account.customerId,
        scope,
        resource,
        authentication: { amr: AMR_PASSWORD_AND_SECOND_FACTOR, acr: ACR_MFA },
        grantType: 'password',
      });
    },
    PARAMETERS,
    new Set(['resource']),
  );
}
