import type { Context } from 'koa';

/** The legacy header some of the product's clients send the token in, instead of Authorization. */
export const AUTH_TOKEN_HEADER = 'authtoken';

export type PresentedToken = { kind: 'token'; token: string } | { kind: 'missing' } | { kind: 'malformed' };

/** RFC 6750 b64token syntax. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 8192;

/**
 * The access token from `Authorization: Bearer ...` (RFC 6750 2.1) or the `authToken` header. Both at once
 * with different values is malformed (RFC 6750 3.1: more than one method), as is any other scheme's syntax.
 */
export function presentedToken(ctx: Context): PresentedToken {
  const authorization = ctx.get('authorization');
  const legacy = ctx.get(AUTH_TOKEN_HEADER).trim();
  let fromAuthorization: string | undefined;
  if (authorization) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match?.[1]) return authorization.toLowerCase().startsWith('bearer') ? { kind: 'malformed' } : legacy ? check(legacy) : { kind: 'missing' };
    fromAuthorization = match[1];
  }
  if (fromAuthorization !== undefined && legacy && legacy !== fromAuthorization) return { kind: 'malformed' };
  const token = fromAuthorization ?? legacy;
  return token ? check(token) : { kind: 'missing' };
}

function check(token: string): PresentedToken {
  return token.length <= MAX_TOKEN_LENGTH && B64TOKEN.test(token) ? { kind: 'token', token } : { kind: 'malformed' };
}
