import type Provider from 'oidc-provider';
import providerInternals from 'oidc-provider/lib/helpers/weak_cache.js';

import { KNOWN_METHODS, type MethodsAtPath } from '../http/method-not-allowed.js';

/**
 * The methods oidc-provider's own router serves at a path (GET /jwks, POST and OPTIONS /token, ...), asked of
 * that router, so a feature turned on or off, or a route renamed, changes the answer with it. The router has
 * no public listing; its lookup is the one the provider runs on every request.
 */
export function providerRouteMethods(provider: Provider): MethodsAtPath {
  const { router } = providerInternals(provider);
  return (path) => KNOWN_METHODS.filter((method) => router.match(method, path) !== undefined);
}
