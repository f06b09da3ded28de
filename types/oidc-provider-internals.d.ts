// oidc-provider exposes its built-in grant handlers and their helpers only as internal modules. We wrap
// the client_credentials handler (to refuse scopes instead of silently dropping them) and the refresh_token
// one, so we type the entry points we use, and nothing more.
declare module 'oidc-provider/lib/actions/grants/client_credentials.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export const handler: (provider: unknown, helpers: Record<string, unknown>, ctx: KoaContextWithOIDC) => Promise<void>;
  export const parameters: Set<string>;
}

// Wrapped like client_credentials: a `resource` the refresh token's grant does not hold, or an API no longer
// configured, is refused before the built-in handler rotates the token (src/provider/grants/refresh-token.ts).
declare module 'oidc-provider/lib/actions/grants/refresh_token.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export const handler: (provider: unknown, helpers: Record<string, unknown>, ctx: KoaContextWithOIDC) => Promise<void>;
  export const parameters: Set<string>;
}

// Wrapped too: a code from a password-only sign-in is refused once a second factor is needed
// (src/provider/grants/authorization-code.ts).
declare module 'oidc-provider/lib/actions/grants/authorization_code.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export const handler: (provider: unknown, helpers: Record<string, unknown>, ctx: KoaContextWithOIDC) => Promise<void>;
  export const parameters: Set<string>;
}

// The resource resolution of the refresh_token grant, run before its handler with what it passes in.
declare module 'oidc-provider/lib/helpers/resolve_resource.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export default function resolveResource(
    ctx: KoaContextWithOIDC,
    model: object,
    config: { userinfo: unknown; resourceIndicators: unknown },
    scopes: Set<string>,
  ): Promise<string | undefined>;
}

// The provider's effective configuration (with its defaults), as its own grant handlers read it, and its
// router, whose lookup tells which methods a path serves (the Allow header of a 405, src/provider/route-methods.ts).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  import type { Client, KoaContextWithOIDC } from 'oidc-provider';
  export default function instance(provider: unknown): {
    configuration: {
      features: {
        userinfo: { enabled: boolean };
        resourceIndicators: { getResourceServerInfo(ctx: KoaContextWithOIDC, resource: string, client: Client | undefined): unknown };
      };
    };
    features: {
      mTLS: { enabled: boolean };
      attestClientAuth: { enabled: boolean };
      dPoP: { enabled: boolean; nonceSecret?: unknown };
    };
    router: { match(method: string, path: string): object | undefined };
    /** The token endpoint's grant handlers and the parameters each takes (`undefined`: every grant's). */
    grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void> | void>;
    grantTypeParams: Map<string | undefined, Set<string>>;
  };
}

declare module 'oidc-provider/lib/helpers/grants.js' {
  const helpers: Record<string, (provider: unknown, ...args: unknown[]) => unknown>;
  export = helpers;
}

// The password and mfa-otp grants issue tokens the way the authorization_code grant does (access token,
// optional refresh token and ID token, resource resolution), through this helper.
declare module 'oidc-provider/lib/helpers/grant_common.js' {
  import type { Grant, KoaContextWithOIDC } from 'oidc-provider';
  export function issueTokens(
    provider: unknown,
    helpers: Record<string, unknown>,
    ctx: KoaContextWithOIDC,
    source: Record<string, unknown>,
    grant: Grant,
    options: { gty: string; entityLabel: string },
  ): Promise<void>;
}

// The middleware stacks of the introspection and revocation routes, and the middleware in them that refuses
// JWTs. Our JWT handling takes that middleware's place (src/provider/jwt-token-endpoints.ts).
declare module 'oidc-provider/lib/actions/introspection.js' {
  import type { Middleware } from 'koa';
  const stack: Middleware[];
  export default stack;
}

declare module 'oidc-provider/lib/actions/revocation.js' {
  import type { Middleware } from 'koa';
  const stack: Middleware[];
  export default stack;
}

declare module 'oidc-provider/lib/shared/reject_structured_tokens.js' {
  import type { Middleware } from 'koa';
  const rejectStructuredTokens: Middleware;
  export default rejectStructuredTokens;
}

// What the token route runs before a grant handler, used as it uses them by the client-credentials fast path
// (src/provider/client-credentials-fast-path.ts): the request context store its models read, the parameter
// object, the client-authentication parameter names, and the scope and client_id/secret syntax checks.
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';
  const als: AsyncLocalStorage<unknown>;
  export default als;
}

declare module 'oidc-provider/lib/helpers/params.js' {
  export default class Params {
    constructor(allowList: Set<string>, params: Record<string, unknown>);
    [name: string]: unknown;
  }
}

declare module 'oidc-provider/lib/shared/client_auth.js' {
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export function getClientAuthParams(ctx: KoaContextWithOIDC): Set<string>;
}

declare module 'oidc-provider/lib/helpers/is_valid_scope.js' {
  export default function isValidScope(scope: unknown): boolean;
}

declare module 'oidc-provider/lib/consts/client_attributes.js' {
  export const noVSCHAR: RegExp;
}
