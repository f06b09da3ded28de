import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

import { ACR_MFA, requestsMfa } from './acr.js';

const { Check, base } = interactionPolicy;

/**
 * oidc-provider's prompts plus one login check it does not have: `acr_values` asking for the
 * multi-factor context (or a client that requires it) while the session holds only a password sign-in.
 * The built-in checks ignore acr_values; without this, step-up would silently not happen.
 */
export function interactionPolicyWithStepUp(clientRequiresMfa: (ctx: KoaContextWithOIDC) => boolean) {
  const policy = base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider base policy has no login prompt');
  login.checks.add(
    new Check('mfa_required', 'multi-factor authentication is required', 'login_required', (ctx: KoaContextWithOIDC) => {
      const wantsMfa = requestsMfa(ctx.oidc.params?.acr_values) || clientRequiresMfa(ctx);
      if (!wantsMfa) return Check.NO_NEED_TO_PROMPT;
      return ctx.oidc.session?.acr === ACR_MFA ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}
