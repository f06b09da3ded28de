import type Provider from 'oidc-provider';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';

const boundByProvider = new WeakMap<Provider, Record<string, unknown>>();

/**
 * oidc-provider's grant helpers bound to one provider, as its own grant handlers and `issueTokens` take them.
 * Bound once per provider (a provider is rebuilt when signing keys change), not at every token request.
 */
export function grantHelpersOf(provider: Provider): Record<string, unknown> {
  let bound = boundByProvider.get(provider);
  if (!bound) {
    bound = Object.fromEntries(Object.entries(grantHelpers).map(([name, helper]) => [name, helper.bind(undefined, provider)]));
    boundByProvider.set(provider, bound);
  }
  return bound;
}
