import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA } from '../mfa/index.js';

const { Check, base } = interactionPolicy;

/** True when `acr_values` asks for the multi-factor context (RFC 9470 style step-up). */
export function requestsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA);
}

/** The reason our check gives; the login pages recognise it to run a step-up without the password. */
export const MFA_STEP_UP_REASON = 'mfa_required';

/**
 * oidc-provider's prompts plus one login check it lacks: `acr_values` asking for the multi-factor context
 * (or a client that requires it) while the session holds only a password sign-in. The built-in checks
 * ignore acr_values; without this, step-up would silently not happen.
 */
export function interactionPolicyWithStepUp(clientRequiresMfa: (ctx: KoaContextWithOIDC) => boolean) {
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider base policy has no login prompt');
  login.checks.add(
    new Check(MFA_STEP_UP_REASON, 'multi-factor authentication is required', 'login_required', (ctx: KoaContextWithOIDC) => {
      const wantsMfa = requestsMfa(ctx.oidc.params?.acr_values) || clientRequiresMfa(ctx);
      if (!wantsMfa) return Check.NO_NEED_TO_PROMPT;
      return ctx.oidc.session?.acr === ACR_MFA ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
