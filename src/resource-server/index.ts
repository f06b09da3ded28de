import type { Context, Middleware, Next } from 'koa';

import type { JWTPayload } from 'jose';

import { AuthorizationServer, AuthorizationServerUnavailable, type IntrospectionAnswer } from './authorization-server.js';
import { DEFAULT_DPOP_ALGORITHMS, DPOP_ALGORITHMS, DpopReplayCache, verifyDpopProof, type DpopAlgorithm, type ProofPolicy, type VerifiedProof } from './dpop-proof.js';
import { presentedToken, type TokenScheme } from './presented-token.js';
import { ExpiringCache } from './token-cache.js';

export { AUTH_TOKEN_HEADER } from './presented-token.js';
export type { IntrospectionAnswer } from './authorization-server.js';
export type { DpopAlgorithm } from './dpop-proof.js';

/**
 * Koa middleware for APIs protected by AuthTokens. Import it as `authtoken-server/resource-server`.
 *
 * ```ts
 * app.use(requireAuthToken({ issuer, audience: `${issuer}/api`, introspection: { clientId, clientSecret }, scopes: ['api:read'] }));
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
  /**
   * This API's audience (its resource indicator, e.g. `https://auth.example.com/api`): every token, JWT or
   * opaque, must name it. Required: without it a token for another of our APIs would be taken here whenever
   * this API's client may introspect it (RFC 9700 2.3, audience-restricted tokens).
   */
  audience: string;
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
  /** How DPoP proofs (RFC 9449) are checked for DPoP-bound tokens; the defaults suit most APIs. */
  dpop?: DpopOptions;
}

/**
 * A DPoP-bound token (one whose introspection answer carries `cnf.jkt`) is accepted only as
 * `Authorization: DPoP <token>` with a `DPoP` proof signed by the bound key; never as a bearer token.
 */
export interface DpopOptions {
  /**
   * The URL clients call this API at, up to and without the path the API sees (e.g.
   * `https://api.example.com/orders` when a proxy maps `/orders/hello` to this app's `/hello`). A proof's `htu`
   * must be this followed by the request path. When not set, the request's own scheme and Host are used,
   * which is only right when clients reach the app directly, or through a proxy that changes neither (or sets
   * X-Forwarded-Proto and X-Forwarded-Host with Koa's `app.proxy` on); set it behind any other proxy.
   */
  externalBaseUrl?: string;
  /** How old a proof's `iat` may be, in seconds (default 60). Its jti is remembered that long. */
  proofMaxAgeSeconds?: number;
  /** How far a proof's `iat` may be ahead of this server's clock, in seconds (default 5). */
  proofFutureSeconds?: number;
  /**
   * Proof jtis remembered against replay (default 100 000), in this process only: another process or
   * instance of the same API does not see them. Size it above the proofs accepted per `proofMaxAgeSeconds`.
   */
  replayCacheSize?: number;
  /** Proof signature algorithms accepted (default ES256, EdDSA, Ed25519, PS256, RS256). */
  algorithms?: DpopAlgorithm[];
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

/** `scopeNeeded`: the scope RFC 6750 3's `scope` attribute names, only when a missing scope is the failure. */
type Failure = { ok: false; status: 400 | 401 | 403; error: string; description: string; scheme: TokenScheme; scopeNeeded?: string };
type Check = { ok: true; principal: AuthTokenPrincipal } | Failure;

/** The key a token is bound to (RFC 7800 `cnf`), as far as this middleware can check one. */
type Binding = { kind: 'unbound' } | { kind: 'dpop'; jkt: string } | { kind: 'unsupported' };

/** Builds the middleware; one instance per protected API (each keeps its own cache). */
export function requireAuthToken(options: ResourceServerOptions): Middleware {
  const audience = requiredAudience(options.audience);
  const server = new AuthorizationServer(options.issuer, options.introspection);
  const cache = new ExpiringCache<IntrospectionAnswer>(options.cacheSize ?? 10_000);
  const boundMs = (options.revocationCheckSeconds ?? 30) * 1000;
  const realm = checkedRealm(options.realm ?? 'authtoken');
  const requiredScopes = options.scopes ?? [];
  const requiredRoles = options.roles ?? [];
  const proofPolicy = dpopPolicy(options.dpop);
  const externalBaseUrl = options.dpop?.externalBaseUrl === undefined ? undefined : checkedBaseUrl(options.dpop.externalBaseUrl);
  const replayCache = new DpopReplayCache(positiveInteger(options.dpop?.replayCacheSize ?? 100_000, 'dpop.replayCacheSize'));

  /** Introspection, cached no longer than the bound nor past the token's own expiry. */
  async function activeAnswer(token: string): Promise<IntrospectionAnswer> {
    const key = ExpiringCache.key(token);
    const cached = cache.get(key);
    if (cached) return cached;
    const answer = await server.introspect(token);
    const now = Date.now();
    const until = Math.min(now + boundMs, typeof answer.exp === 'number' ? answer.exp * 1000 : Infinity);
    if (boundMs > 0) cache.set(key, answer, until);
    return answer;
  }

  async function check(token: string, scheme: TokenScheme, proof: VerifiedProof | undefined): Promise<Check> {
    const invalid = { ok: false, status: 401, error: 'invalid_token', scheme } as const;
    // A JWT is checked locally first (signature, issuer, type, audience, lifetime): a forged or expired one
    // never costs an introspection. Its revocation can only be learnt from the server, as an opaque token's.
    let jwtClaims: JWTPayload | undefined;
    if (token.split('.').length === 3) {
      jwtClaims = await server.verifyJwt(token, audience);
      if (!jwtClaims) return { ...invalid, description: 'the access token is invalid or expired' };
    }
    const answer = await activeAnswer(token);
    if (!answer.active) return { ...invalid, description: 'the access token is invalid, expired or revoked' };
    if (!audiences(answer.aud).includes(audience)) {
      return { ...invalid, description: 'the access token is not meant for this API' };
    }
    // RFC 9449 7.1, 7.2: a bound token only with its proof, and the DPoP scheme only for a bound token, so
    // neither scheme can stand in for the other. The challenge names DPoP: that is what the client must use.
    const binding = bindingOf(answer, jwtClaims);
    if (binding.kind === 'unsupported') {
      return { ...invalid, scheme: 'DPoP', description: 'the access token is bound in a way this API cannot check' };
    }
    if (binding.kind === 'dpop' && (scheme !== 'DPoP' || !proof)) {
      return { ...invalid, scheme: 'DPoP', description: 'the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof' };
    }
    if (binding.kind === 'unbound' && scheme === 'DPoP') {
      return { ...invalid, description: 'the access token is not DPoP-bound: present it with the Bearer scheme' };
    }
    if (binding.kind === 'dpop' && proof) {
      if (proof.thumbprint !== binding.jkt) return { ...invalid, description: 'the DPoP proof is not signed by the key the access token is bound to' };
      // After the last await of this check, so two requests racing with one proof cannot both pass; and only
      // for a proof that matched a live token, so unbound keys cannot fill the cache and push real entries out.
      if (!replayCache.firstUse(proof)) return { ok: false, status: 401, error: 'invalid_dpop_proof', scheme, description: 'the DPoP proof was used before (jti)' };
    }
    const scopes = typeof answer.scope === 'string' ? answer.scope.split(' ').filter(Boolean) : [];
    const roles = Array.isArray(answer.roles) ? answer.roles.filter((role): role is string => typeof role === 'string') : [];
    const missingScopes = requiredScopes.filter((scope) => !scopes.includes(scope));
    if (missingScopes.length > 0) {
      const scopeNeeded = requiredScopes.join(' ');
      return { ok: false, status: 403, error: 'insufficient_scope', scheme, description: `requires scope ${scopeNeeded}`, scopeNeeded };
    }
    const missingRoles = requiredRoles.filter((role) => !roles.includes(role));
    if (missingRoles.length > 0) {
      return { ok: false, status: 403, error: 'insufficient_scope', scheme, description: `requires role ${missingRoles.join(' ')}` };
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

  const dpopAlgs = `algs="${proofPolicy.algorithms.join(' ')}"`;

  /**
   * RFC 6750 3 / RFC 9449 7.1: with no token, both schemes are offered (the DPoP one with the algorithms it
   * takes); otherwise one challenge, with the error, in the scheme the client must use.
   */
  function challenge(ctx: Context, failure?: Failure): void {
    const realmAttribute = `realm="${realm}"`;
    ctx.set('Cache-Control', 'no-store');
    if (!failure) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', [`Bearer ${realmAttribute}`, `DPoP ${realmAttribute}, ${dpopAlgs}`]);
      ctx.body = { error: 'unauthorized', error_description: 'an access token is required' };
      return;
    }
    const attributes = [realmAttribute, `error="${failure.error}"`, `error_description="${failure.description.replace(/["\\]/g, '')}"`];
    // Not for a missing role: the token has every scope, and naming them would tell the client to ask for what it holds.
    if (failure.scopeNeeded) attributes.push(`scope="${failure.scopeNeeded}"`);
    if (failure.scheme === 'DPoP') attributes.push(dpopAlgs);
    ctx.status = failure.status;
    ctx.set('WWW-Authenticate', `${failure.scheme} ${attributes.join(', ')}`);
    ctx.body = { error: failure.error, error_description: failure.description };
  }

  /** The URL the client called, as `htu` must name it (see DpopOptions.externalBaseUrl); '' if it has none. */
  function requestUrl(ctx: Context): string {
    // ctx.href, not ctx.path: a mounted app (koa-mount) sees a shortened path, the client addressed the whole.
    // Koa's ctx.origin is the Origin request header, not this request's origin.
    let called: URL;
    try {
      called = new URL(ctx.href);
    } catch {
      return '';
    }
    return `${externalBaseUrl ?? called.origin}${called.pathname}`;
  }

  return async function authTokenRequired(ctx: Context, next: Next): Promise<void> {
    const presented = presentedToken(ctx);
    if (presented.kind === 'missing') return challenge(ctx);
    if (presented.kind === 'malformed') {
      const description = presented.scheme === 'DPoP' ? 'the access token is not presented as RFC 9449 describes' : 'the access token is not presented as RFC 6750 describes';
      return challenge(ctx, { ok: false, status: 400, error: 'invalid_request', description, scheme: presented.scheme });
    }
    let proof: VerifiedProof | undefined;
    if (presented.scheme === 'DPoP') {
      // The proof is checked before the token: it is local and cheap, and a bad one never costs an introspection.
      const verified = await verifyDpopProof(ctx.req.headersDistinct.dpop ?? [], { method: ctx.method, url: requestUrl(ctx), accessToken: presented.token }, proofPolicy);
      if (!verified.ok) return challenge(ctx, { ok: false, status: 401, error: 'invalid_dpop_proof', description: verified.description, scheme: 'DPoP' });
      proof = verified;
    }
    let result: Check;
    try {
      result = await check(presented.token, presented.scheme, proof);
    } catch (error) {
      if (!(error instanceof AuthorizationServerUnavailable)) throw error;
      // Fail closed: without the authorization server, revocation cannot be checked.
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the token could not be checked; retry later' };
      return;
    }
    if (!result.ok) return challenge(ctx, result);
    ctx.state.authToken = result.principal;
    await next();
  };
}

function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((entry): entry is string => typeof entry === 'string') : [];
}

/**
 * The token's binding, from the introspection answer and (for a JWT) its verified claims, which must agree.
 * A `cnf` of any other kind (an mTLS certificate thumbprint, say) cannot be checked here: refused, not
 * taken as a bearer token.
 */
function bindingOf(answer: IntrospectionAnswer, jwtClaims: JWTPayload | undefined): Binding {
  const confirmations = [answer.cnf, jwtClaims?.cnf].filter((cnf) => cnf !== undefined);
  if (confirmations.length === 0) return { kind: 'unbound' };
  const keys = new Set<string>();
  for (const cnf of confirmations) {
    if (typeof cnf !== 'object' || cnf === null || Object.keys(cnf).some((member) => member !== 'jkt')) return { kind: 'unsupported' };
    const { jkt } = cnf as { jkt?: unknown };
    if (typeof jkt !== 'string' || jkt.length === 0) return { kind: 'unsupported' };
    keys.add(jkt);
  }
  const [jkt] = keys;
  return keys.size === 1 && jkt !== undefined ? { kind: 'dpop', jkt } : { kind: 'unsupported' };
}

function dpopPolicy(options: DpopOptions | undefined): ProofPolicy {
  const algorithms = options?.algorithms ?? [...DEFAULT_DPOP_ALGORITHMS];
  const allowed: readonly string[] = DPOP_ALGORITHMS;
  // The type already says so; this is for JavaScript callers, where `HS256` or `none` would slip through.
  if (algorithms.length === 0 || algorithms.some((alg) => !allowed.includes(alg))) {
    throw new TypeError(`dpop.algorithms must be a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  return {
    algorithms,
    maxAgeSeconds: positiveInteger(options?.proofMaxAgeSeconds ?? 60, 'dpop.proofMaxAgeSeconds'),
    futureSeconds: nonNegativeInteger(options?.proofFutureSeconds ?? 5, 'dpop.proofFutureSeconds'),
  };
}

/** For JavaScript callers, who get no type error: a missing audience would accept any of our APIs' tokens. */
function requiredAudience(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError("audience is required: this API's resource indicator, which every token it accepts must name");
  }
  return value;
}

/**
 * The realm goes into WWW-Authenticate as a quoted string (RFC 9110 11.6.1): a quote, a backslash or a control
 * character would end it early or make the header invalid, and every challenge would then be unreadable.
 */
function checkedRealm(value: unknown): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (typeof value !== 'string' || value === '' || /["\\\x00-\x1f\x7f]/.test(value)) {
    throw new TypeError('realm must be non-empty printable text without quotes or backslashes');
  }
  return value;
}

function checkedBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError('dpop.externalBaseUrl must be an absolute URL');
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new TypeError('dpop.externalBaseUrl must be an http(s) URL without query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new TypeError(`${name} must be a non-negative integer`);
  return value;
}
