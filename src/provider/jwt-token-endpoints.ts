import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

import type { AccessTokenVerifier, JwtRevocationList, VerifiedAccessToken } from '../tokens/index.js';
import { mayIntrospect } from './introspection-policy.js';
import { afterProviderAnswers } from './after-answer.js';

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
 * `unsupported_token_type` (lib/shared/reject_structured_tokens.js) after it has authenticated the client.
 *
 * Why after, not before: a middleware in front of the provider would have to re-implement client
 * authentication (basic, post, private_key_jwt with its assertion replay checks). Running around the
 * provider's own route, we act only once the provider has authenticated the client (`ctx.oidc.client` is
 * set) and refused the token as structured; every other answer, client-authentication failures included,
 * passes through untouched. The RFC answer then replaces the refusal.
 */
export function answerJwtAccessTokensAtTokenEndpoints(provider: Provider, dependencies: JwtTokenEndpointDependencies): void {
  // The provider's error handler reports the refusal through these events, whatever body it rendered (JSON,
  // or an HTML page for a caller accepting only text/html).
  const refusedAsStructured = new WeakSet<object>();
  const noteRefusal = (ctx: KoaContextWithOIDC, error: Error) => {
    if (error instanceof errors.UnsupportedTokenType) refusedAsStructured.add(ctx);
  };
  provider.on('introspection.error', noteRefusal);
  provider.on('revocation.error', noteRefusal);

  afterProviderAnswers(provider, ['introspection', 'revocation'], async (ctx) => {
    if (!refusedAsStructured.has(ctx)) return;
    const { oidc } = ctx;
    if (!oidc.client) return;
    const token = oidc.params?.token;
    if (typeof token !== 'string') return;
    if (oidc.route === 'introspection') await introspectJwt(oidc, ctx, token, dependencies);
    else await revokeJwt(oidc, ctx, token, dependencies);
  });
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
    body = { ...visible, active: true, token_type: 'Bearer' };
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
