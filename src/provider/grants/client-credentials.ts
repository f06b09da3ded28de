import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { handler as builtInHandler, parameters } from 'oidc-provider/lib/actions/grants/client_credentials.js';

import type { ResourceServerRegistry } from '../resource-servers.js';
import { grantHelpersOf } from './bound-grant-helpers.js';
import { assertScopesAllowed } from './scope-policy.js';

/**
 * client_credentials as oidc-provider implements it, preceded by our scope policy: oidc-provider silently
 * drops requested scopes the resource server or client does not allow; a partner must get invalid_scope.
 */
export function registerClientCredentialsGrant(provider: Provider, resourceServers: ResourceServerRegistry): void {
  const boundHelpers = grantHelpersOf(provider);
  provider.registerGrantType(
    'client_credentials',
    // Not async: the built-in handler's promise is the answer, with no frame of ours around it. A refused
    // scope throws synchronously here, inside oidc-provider's awaiting token action, so it answers the same.
    (ctx: KoaContextWithOIDC) => {
      assertScopesAllowed(ctx, resourceServers);
      return builtInHandler(provider, boundHelpers, ctx);
    },
    new Set([...parameters, 'resource']),
    new Set(['resource']),
  );
}

export { errors };
