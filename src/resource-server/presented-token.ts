import type { Context } from 'koa';

/** The legacy header some of the product's clients send the token in, instead of Authorization. */
export const AUTH_TOKEN_HEADER = 'authtoken';

/** How the token was presented: RFC 6750 (Bearer, or the legacy header) or RFC 9449 7.1 (DPoP). */
export type TokenScheme = 'Bearer' | 'DPoP';

export type PresentedToken =
  | { kind: 'token'; token: string; scheme: TokenScheme }
  | { kind: 'missing' }
  | { kind: 'malformed'; scheme: TokenScheme };

/** RFC 6750 b64token syntax, which RFC 9449 7.1 reuses (as token68) for the DPoP scheme. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

/**
 * The access token from `Authorization: Bearer ...` (RFC 6750 2.1), `Authorization: DPoP ...` (RFC 9449 7.1)
 * or the `authToken` header. Two presentations with different values is malformed (RFC 6750 3.1: more than
 * one method), as is any other syntax of those two schemes. The legacy header is a bearer presentation: it
 * carries no proof, so a DPoP-bound token sent there is refused like one sent as Bearer.
 */
export function presentedToken(ctx: Context): PresentedToken {
  const authorization = ctx.get('authorization');
  const legacy = ctx.get(AUTH_TOKEN_HEADER).trim();
  // Node keeps only the first of several Authorization lines (ctx.get sees one; headersDistinct has them all):
  // two different ones are two credentials, and serving the first could honour one a proxy never checked.
  const authorizationLines = new Set(ctx.req.headersDistinct.authorization ?? []);
  if (authorizationLines.size > 1) return { kind: 'malformed', scheme: schemeNamed(/^(bearer|dpop)/i.exec(authorization)?.[1] ?? 'Bearer') };
  let fromAuthorization: { token: string; scheme: TokenScheme } | undefined;
  if (authorization) {
    const match = /^(Bearer|DPoP) +(\S+) *$/i.exec(authorization);
    if (!match?.[1] || !match[2]) {
      const attempted = /^(bearer|dpop)/i.exec(authorization)?.[1];
      if (attempted) return { kind: 'malformed', scheme: schemeNamed(attempted) };
      return legacy ? check(legacy, 'Bearer') : { kind: 'missing' };
    }
    fromAuthorization = { token: match[2], scheme: schemeNamed(match[1]) };
  }
  if (fromAuthorization && legacy && legacy !== fromAuthorization.token) return { kind: 'malformed', scheme: fromAuthorization.scheme };
  if (fromAuthorization) return check(fromAuthorization.token, fromAuthorization.scheme);
  return legacy ? check(legacy, 'Bearer') : { kind: 'missing' };
}

function schemeNamed(name: string): TokenScheme {
  return name.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
}

function check(token: string, scheme: TokenScheme): PresentedToken {
  return token.length <= MAX_TOKEN_LENGTH && B64TOKEN.test(token) ? { kind: 'token', token, scheme } : { kind: 'malformed', scheme };
}
