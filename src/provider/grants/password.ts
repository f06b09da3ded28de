import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { Account } from '../../accounts/index.js';
import type { MfaMethod } from '../../mfa/index.js';
import { identityCheckOf } from '../in-process-token-request.js';
import { assertScopesPermittedByRoles } from '../token-claims.js';
import { assertScopesAllowed, requestedApiScopes, singleResourceParameter } from './scope-policy.js';
import { completeSignIn, refuseSignIn } from './sign-in-outcome.js';
import {
  assertUserGrantAllowed,
  MFA_REQUIRED_METADATA,
  optionalParameter,
  passesRateLimit,
  recordSignIn,
  requiredParameter,
  type UserGrantDependencies,
} from './user-grant-policy.js';

const PARAMETERS = new Set(['username', 'password', 'otp', 'scope', 'resource']);

interface PasswordStep {
  account: Account;
  scope: string;
  resource: string | undefined;
}

/**
 * `grant_type=password` (RFC 6749 4.3) for confidential first-party clients that are allowed it, with the
 * second factor enforced here: in the same request (`otp`), or in two steps (403 mfa_required with an
 * mfa_token, then the mfa-otp grant).
 */
export function registerPasswordGrant(provider: Provider, dependencies: UserGrantDependencies): void {
  const { accounts, mfa, metrics } = dependencies;
  const outcome = { grant: 'password', grantType: 'password' } as const;

  /** 403 with the mfa_token, written here: oidc-provider's error renderer would drop the extra fields. */
  async function answerMfaRequired(ctx: KoaContextWithOIDC, step: PasswordStep, methods: MfaMethod[]): Promise<void> {
    const clientId = ctx.oidc.client?.clientId ?? '';
    const { mfaToken, expiresIn } = await mfa.tokens.issue({
      clientId,
      accountId: step.account.customerId,
      scope: step.scope,
      ...(step.resource ? { resource: step.resource } : {}),
    });
    await recordSignIn(ctx, dependencies, {
      action: 'signin.mfa_required',
      outcome: 'success',
      accountId: step.account.customerId,
      details: { factor: 'password', grant: 'password', methods },
    });
    ctx.status = 403;
    ctx.body = {
      error: 'mfa_required',
      error_description: 'a second factor is required to issue tokens for this account',
      mfa_token: mfaToken,
      mfa_token_expires_in: expiresIn,
      mfa_methods: methods,
    };
  }

  provider.registerGrantType(
    'password',
    async (ctx: KoaContextWithOIDC) => {
      assertUserGrantAllowed(ctx);
      if (!(await passesRateLimit(ctx, dependencies))) return;
      const username = requiredParameter(ctx, 'username');
      const password = requiredParameter(ctx, 'password');
      const otp = optionalParameter(ctx, 'otp');
      // Refused before any credential is checked: found later, they would cost the person a factor.
      const resource = singleResourceParameter(ctx);
      assertScopesAllowed(ctx, dependencies.resourceServers, { allowOidcScopes: true });

      const check = await accounts.verifyPassword(username, password, ctx.ip, identityCheckOf(ctx));
      if (!check.ok) {
        if (check.throttle?.throttled) metrics.lockouts.inc({ kind: check.throttle.reason });
        throw await refuseSignIn(ctx, dependencies, {
          ...outcome,
          account: check.account,
          factor: 'password',
          reason: check.reason,
          throttled: check.reason === 'throttled',
        });
      }
      try {
        // SCOPE_ROLE_REQUIREMENTS, now that the account is known: a scope its roles do not allow is refused before
        // a second factor is asked for (no mfa_token for a request that cannot succeed) or spent, and before the
        // sign-in counts as a success. Issuance checks again (token-claims.ts), for roles changed in between.
        assertScopesPermittedByRoles(requestedApiScopes(ctx), check.account.roles, dependencies.scopeRoleRequirements);
      } catch (error) {
        await refuseSignIn(ctx, dependencies, { ...outcome, account: check.account, factor: 'password', reason: 'scope_requires_role', throttled: false });
        throw error;
      }
      const step: PasswordStep = {
        account: check.account,
        scope: String(ctx.oidc.params?.scope ?? ''),
        resource,
      };
      const methods = await mfa.methodsFor(step.account.customerId);

      if (methods.length === 0) {
        const mustHaveSecondFactor =
          ctx.oidc.client?.metadata()[MFA_REQUIRED_METADATA] === true || (await dependencies.secondFactorRequired(step.account.customerId));
        if (mustHaveSecondFactor) {
          // The client, the deployment or an operator demands a second factor the account does not have:
          // it must enroll through the login pages first (like Keycloak's "Configure OTP").
          await refuseSignIn(ctx, dependencies, { ...outcome, account: step.account, factor: 'password', reason: 'mfa_not_enrolled', throttled: false });
          throw new errors.InvalidGrant('this client requires a second factor and the account has none enrolled');
        }
        await accounts.recordSignInSuccess(step.account, ctx.ip);
        await completeSignIn(provider, ctx, dependencies, { ...outcome, ...step, secondFactor: undefined });
        return;
      }

      if (otp === undefined) {
        await answerMfaRequired(ctx, step, methods);
        return;
      }
      const verified = await mfa.verifySecondFactorGuarded(step.account, { otp }, ctx.ip);
      if (!verified.ok) {
        if (verified.ceilingReached) metrics.lockouts.inc({ kind: 'ceiling' });
        throw await refuseSignIn(ctx, dependencies, {
          ...outcome,
          account: step.account,
          factor: 'otp',
          reason: verified.reason,
          throttled: verified.reason === 'throttled',
        });
      }
      await completeSignIn(provider, ctx, dependencies, { ...outcome, ...step, secondFactor: verified.method });
    },
    PARAMETERS,
    new Set(['resource']),
  );
}
