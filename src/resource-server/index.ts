import type { Context, Middleware, Next } from 'koa';

import { AuthorizationServer, AuthorizationServerUnavailable, type IntrospectionAnswer } from './authorization-server.js';
import { presentedToken } from './bearer-token.js';
import { IntrospectionCache } from './token-cache.js';

export { AUTH_TOKEN_HEADER } from './bearer-token.js';
export type { IntrospectionAnswer } from './authorization-server.js';

/**
 * Koa middleware for APIs protected by AuthTokens. Import it as `authtoken-server/resource-server`.
 *
 * ```ts
 * app.use(requireAuthToken({ issuer, introspection: { clientId, clientSecret }, scopes: ['api:read'] }));
 * ```
 */
export interface ResourceServerOptions {
  /** The AuthToken server's issuer URL (discovery is read from it). */
  issuer: string;
  /**
   * This API's client credentials, used for introspection. Register the client as a resource server of the
   * audience (resource_server_audiences) so it may introspect tokens issued for it.
   */
  introspection: { clientId: string; clientSecret: string };
  /** The audience (resource indicator) JWT access tokens must name; any of ours when not set. */
  audience?: string;
  /** Scopes every request needs (all of them). */
  scopes?: string[];
  /** Roles every request needs (all of them), from the token's `roles` claim. */
  roles?: string[];
  /**
   * How long an introspection answer is reused, in seconds: the bound on how long a revoked token (opaque or
   * JWT) keeps working here. Default 30; 0 introspects every request.
   */
  revocationCheckSeconds?: number;
  /** Introspection answers kept at most (default 10 000). */
  cacheSize?: number;
  /** The realm named in WWW-Authenticate. */
  realm?: string;
}

/** What the middleware leaves in `ctx.state.authToken` for the route. */
export interface AuthTokenPrincipal {
  subject: string;
  clientId: string;
  customerId: string | undefined;
  scopes: string[];
  roles: string[];
  /** The full introspection answer. */
  claims: IntrospectionAnswer;
}

type Check = { ok: true; principal: AuthTokenPrincipal } | { ok: false; status: 401 | 403; error: string; description: string };

/** Builds the middleware; one instance per protected API (each keeps its own cache). */
export function requireAuthToken(options: ResourceServerOptions): Middleware {
  const server = new AuthorizationServer(options.issuer, options.introspection);
  const cache = new IntrospectionCache<IntrospectionAnswer>(options.cacheSize ?? 10_000);
  const boundMs = (options.revocationCheckSeconds ?? 30) * 1000;
  const realm = options.realm ?? 'authtoken';
  const requiredScopes = options.scopes ?? [];
  const requiredRoles = options.roles ?? [];

  /** Introspection, cached no longer than the bound nor past the token's own expiry. */
  async function activeAnswer(token: string): Promise<IntrospectionAnswer> {
    const key = IntrospectionCache.key(token);
    const cached = cache.get(key);
    if (cached) return cached;
    const answer = await server.introspect(token);
    const now = Date.now();
    const until = Math.min(now + boundMs, typeof answer.exp === 'number' ? answer.exp * 1000 : Infinity);
    if (boundMs > 0) cache.set(key, answer, until);
    return answer;
  }

  async function check(token: string): Promise<Check> {
    const invalid = { ok: false, status: 401, error: 'invalid_token' } as const;
    // A JWT is checked locally first (signature, issuer, type, audience, lifetime): a forged or expired one
    // never costs an introspection. Its revocation can only be learnt from the server, as an opaque token's.
    if (token.split('.').length === 3 && !(await server.verifyJwt(token, options.audience))) {
      return { ...invalid, description: 'the access token is invalid or expired' };
    }
    const answer = await activeAnswer(token);
    if (!answer.active) return { ...invalid, description: 'the access token is invalid, expired or revoked' };
    if (options.audience && !audiences(answer.aud).includes(options.audience)) {
      return { ...invalid, description: 'the access token is not meant for this API' };
    }
    const scopes = typeof answer.scope === 'string' ? answer.scope.split(' ').filter(Boolean) : [];
    const roles = Array.isArray(answer.roles) ? answer.roles.filter((role): role is string => typeof role === 'string') : [];
    const missingScopes = requiredScopes.filter((scope) => !scopes.includes(scope));
    if (missingScopes.length > 0) {
      return { ok: false, status: 403, error: 'insufficient_scope', description: `requires scope ${requiredScopes.join(' ')}` };
    }
    const missingRoles = requiredRoles.filter((role) => !roles.includes(role));
    if (missingRoles.length > 0) {
      return { ok: false, status: 403, error: 'insufficient_scope', description: `requires role ${missingRoles.join(' ')}` };
    }
    return {
      ok: true,
      principal: {
        subject: String(answer.sub ?? ''),
        clientId: String(answer.client_id ?? ''),
        customerId: typeof answer.customer_id === 'string' ? answer.customer_id : undefined,
        scopes,
        roles,
        claims: answer,
      },
    };
  }

  /** RFC 6750 3: the challenge, with error attributes only when a token was presented. */
  function challenge(ctx: Context, status: number, error?: string, description?: string): void {
    const attributes = [`realm="${realm}"`];
    if (error) attributes.push(`error="${error}"`);
    if (description) attributes.push(`error_description="${description.replace(/["\\]/g, '')}"`);
    if (error === 'insufficient_scope' && requiredScopes.length > 0) attributes.push(`scope="${requiredScopes.join(' ')}"`);
    ctx.status = status;
    ctx.set('WWW-Authenticate', `Bearer ${attributes.join(', ')}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = error ? { error, error_description: description } : { error: 'unauthorized', error_description: 'an access token is required' };
  }

  return async function authTokenRequired(ctx: Context, next: Next): Promise<void> {
    const presented = presentedToken(ctx);
    if (presented.kind === 'missing') return challenge(ctx, 401);
    if (presented.kind === 'malformed') return challenge(ctx, 400, 'invalid_request', 'the access token is not presented as RFC 6750 describes');
    let result: Check;
    try {
      result = await check(presented.token);
    } catch (error) {
      if (!(error instanceof AuthorizationServerUnavailable)) throw error;
      // Fail closed: without the authorization server, revocation cannot be checked.
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the token could not be checked; retry later' };
      return;
    }
    if (!result.ok) return challenge(ctx, result.status, result.error, result.description);
    ctx.state.authToken = result.principal;
    await next();
  };
}

function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((entry): entry is string => typeof entry === 'string') : [];
}
