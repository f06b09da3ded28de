import { decodeProtectedHeader } from 'jose';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import introspectionStack from 'oidc-provider/lib/actions/introspection.js';
import revocationStack from 'oidc-provider/lib/actions/revocation.js';
import rejectStructuredTokens from 'oidc-provider/lib/shared/reject_structured_tokens.js';

import type { AccessTokenVerifier, JwtRevocationList, VerifiedAccessToken } from '../tokens/index.js';
import { mayIntrospect } from './introspection-policy.js';

export interface JwtTokenEndpointDependencies {
  verifier: AccessTokenVerifier;
  revocations: JwtRevocationList;
  revokeGrant(grantId: string): Promise<void>;
}

const JWT_INTROSPECTION_RESPONSE = 'application/token-introspection+jwt';

/** Claims of ours that resource servers never need to see at introspection. */
const INTERNAL_CLAIMS = new Set(['grant_id']);

/**
 * RFC 7009 / RFC 7662 for JWT access tokens, which oidc-provider refuses at both endpoints with
 * `unsupported_token_type` (lib/shared/reject_structured_tokens.js).
 *
 * Our middleware takes the place of that refusal in the two routes' own middleware stacks: it runs after
 * the provider has parsed the request and authenticated the client (basic, post, private_key_jwt with its
 * assertion replay checks), so nothing of that is re-implemented, and every earlier answer, client
 * authentication failures included, is the provider's. A JWT gets the RFC answer here; anything else goes on
 * to the provider's opaque-token handling. Tokens without a dot (every opaque token) go on at once, without
 * the header decoding that the refusal attempted on each of them and that throws twice for a non-JWT.
 *
 * oidc-provider copies these stacks into its router when a Provider is constructed, so the swap happens
 * when this module loads, before any provider exists; it fails loudly should a new oidc-provider version
 * no longer have the refusal where we expect it.
 */
const answerersByProvider = new WeakMap<Provider, JwtTokenEndpointDependencies>();

async function answerStructuredTokens(ctx: Context, next: Next): Promise<void> {
  const oidcCtx = ctx as unknown as KoaContextWithOIDC;
  const { oidc } = oidcCtx;
  const token = oidc.params?.token;
  if (typeof token !== 'string' || !token.includes('.')) return next();
  const dependencies = answerersByProvider.get(oidc.provider);
  // A provider built without our JWT handling keeps oidc-provider's own refusal.
  if (!dependencies) return rejectStructuredTokens(ctx, next);
  let structured = false;
  try {
    structured = Boolean(decodeProtectedHeader(token));
  } catch {
    // not a JWS/JWE: an opaque token for the provider to look up (it will find nothing)
  }
  if (!structured) return next();
  if (oidc.route === 'introspection') await introspectJwt(oidc, oidcCtx, token, dependencies);
  else await revokeJwt(oidc, oidcCtx, token, dependencies);
}

for (const [name, stack] of [['introspection', introspectionStack], ['revocation', revocationStack]] as const) {
  const index = stack.indexOf(rejectStructuredTokens);
  if (index === -1) throw new Error(`oidc-provider's ${name} route no longer refuses structured tokens where expected; JWT ${name} cannot be installed`);
  stack[index] = answerStructuredTokens;
}

/** Answers introspection and revocation of this provider's JWT access tokens (see above). */
export function answerJwtAccessTokensAtTokenEndpoints(provider: Provider, dependencies: JwtTokenEndpointDependencies): void {
  answerersByProvider.set(provider, dependencies);
}

/** The token's claims when it is valid and not revoked, its grant (if any) still standing. */
async function activeClaims(
  ctx: KoaContextWithOIDC,
  token: string,
  { verifier, revocations }: JwtTokenEndpointDependencies,
): Promise<VerifiedAccessToken | undefined> {
  const claims = await verifier.verify(token);
  if (!claims) return undefined;
  if (await revocations.isRevoked(claims)) return undefined;
  if (claims.grant_id !== undefined) {
    // As oidc-provider does for opaque tokens: a revoked grant (refresh reuse, logout, bulk revocation) takes
    // its tokens with it.
    const grant = await ctx.oidc.provider.Grant.find(claims.grant_id, { ignoreExpiration: true });
    if (!grant || grant.isExpired || grant.clientId !== claims.client_id) return undefined;
  }
  return claims;
}

async function introspectJwt(
  oidc: KoaContextWithOIDC['oidc'],
  ctx: KoaContextWithOIDC,
  token: string,
  dependencies: JwtTokenEndpointDependencies,
): Promise<void> {
  const claims = await activeClaims(ctx, token, dependencies);
  const client = oidc.client;
  let body: Record<string, unknown> = { active: false };
  if (claims && client && mayIntrospect(client, { clientId: claims.client_id, audience: claims.aud })) {
    const visible = Object.fromEntries(Object.entries(claims).filter(([name]) => !INTERNAL_CLAIMS.has(name)));
    // As oidc-provider answers for an opaque token: a token bound to a DPoP key (cnf.jkt) is a DPoP token.
    body = { ...visible, active: true, token_type: isDpopBound(claims) ? 'DPoP' : 'Bearer' };
  }
  ctx.status = 200;
  ctx.set('cache-control', 'no-store');
  ctx.type = 'application/json; charset=utf-8';
  // RFC 9701, as oidc-provider answers for opaque tokens: a signed response when the client registered
  // introspection_signed_response_alg and asks for it.
  if (client?.introspectionSignedResponseAlg && ctx.accepts('json', JWT_INTROSPECTION_RESPONSE) === JWT_INTROSPECTION_RESPONSE) {
    const response = new oidc.provider.IdToken({}, { ctx });
    // The typings mark `extra` read-only; oidc-provider's own introspection action assigns it the same way.
    (response as { extra: Record<string, unknown> }).extra = { token_introspection: body, aud: body.aud };
    ctx.body = await response.issue({ use: 'introspection' });
    ctx.type = `${JWT_INTROSPECTION_RESPONSE}; charset=utf-8`;
    return;
  }
  ctx.body = body;
}

function isDpopBound(claims: VerifiedAccessToken): boolean {
  const { cnf } = claims;
  return typeof cnf === 'object' && cnf !== null && typeof (cnf as { jkt?: unknown }).jkt === 'string';
}

async function revokeJwt(
  oidc: KoaContextWithOIDC['oidc'],
  ctx: KoaContextWithOIDC,
  token: string,
  dependencies: JwtTokenEndpointDependencies,
): Promise<void> {
  const claims = await activeClaims(ctx, token, dependencies);
  if (claims && claims.client_id !== oidc.client?.clientId) {
    // RFC 7009 2.1: refused, and the token stays valid (the same answer oidc-provider gives for opaque ones).
    ctx.status = 400;
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = { error: 'unauthorized_client', error_description: 'client is not authorized to revoke the presented token' };
    return;
  }
  if (claims) {
    await dependencies.revocations.revokeJwt(claims.jti, claims.exp);
    // oidc-provider revokes the whole grant with an access token; JWTs follow the same rule.
    if (claims.grant_id !== undefined) await dependencies.revokeGrant(claims.grant_id);
  }
  // RFC 7009 2.2: 200 whether the token was valid, unknown, expired or already revoked.
  ctx.status = 200;
  ctx.body = '';
  ctx.remove('content-type');
}
