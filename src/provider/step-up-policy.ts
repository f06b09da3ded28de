import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA } from '../mfa/index.js';
import { MFA_REQUIRED_METADATA } from './grants/user-grant-policy.js';
import type { SecondFactorNeeded } from './second-factor-policy.js';

const { Check, base } = interactionPolicy;

/** True when `acr_values` asks for the multi-factor context (RFC 9470 style step-up). */
export function requestsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

/** The reason our check gives; the login pages recognise it to run a step-up without the password. */
export const MFA_STEP_UP_REASON = 'mfa_required';

/**
 * oidc-provider's prompts plus one login check it lacks: the session holds only a password sign-in while a
 * second factor is wanted, by `acr_values` asking for the multi-factor context, or because one is needed now
 * (secondFactorNeeded: the client requires one, or since the sign-in the account enrolled one or policy came
 * to demand one). The built-in checks ignore acr_values; without this, step-up would silently not happen, and
 * a session signed in before the account needed a second factor would go on getting codes without it.
 */
export function interactionPolicyWithStepUp(secondFactorNeeded: SecondFactorNeeded) {
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider base policy has no login prompt');
  login.checks.add(
    new Check(MFA_STEP_UP_REASON, 'multi-factor authentication is required', 'login_required', async (ctx: KoaContextWithOIDC) => {
      const { session, client } = ctx.oidc;
      if (session?.acr === ACR_MFA) return Check.NO_NEED_TO_PROMPT;
      if (requestsMfa(ctx.oidc.params?.acr_values)) return Check.REQUEST_PROMPT;
      // No signed-in account yet (the login prompt is due anyway): only the client's own requirement applies.
      const needed = session?.accountId ? await secondFactorNeeded(session.accountId, client) : client?.metadata()[MFA_REQUIRED_METADATA] === true;
      return needed ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}
