import type { IncomingHttpHeaders } from 'node:http';

import type { Context, Middleware } from 'koa';

import type { IdentityCheck } from '../accounts/index.js';
import { requestWithBody } from '../http/request-with-body.js';

export interface TokenEndpointResult {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Hands a token request to oidc-provider's token endpoint in-process: the same Koa context, whose request is
 * swapped for the length of the call with a POST /token carrying `form` as an unread body, so the provider
 * reads and checks it as it reads any request (its fallback for an already-parsed body is "not recommended"
 * and prints a warning). The caller's own request is untouched and put back afterwards, so logs and metrics
 * still name the API's own path and method.
 */
export async function runTokenRequest(
  ctx: Context,
  form: Record<string, string>,
  provider: Middleware,
  /** HTTP Basic client authentication (client_secret_basic), for clients registered with it. */
  basic?: { clientId: string; clientSecret: string },
): Promise<TokenEndpointResult> {
  const original = ctx.req;
  if (original.readable) for await (const _chunk of original) void _chunk; // a GET's (empty) stream
  const body = Buffer.from(new URLSearchParams(form).toString());
  const headers: IncomingHttpHeaders = {
    ...original.headers,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(body.length),
  };
  // Only the credentials given here, never the caller's own Authorization header.
  if (basic) {
    const encode = (value: string) => encodeURIComponent(value);
    headers.authorization = `Basic ${Buffer.from(`${encode(basic.clientId)}:${encode(basic.clientSecret)}`).toString('base64')}`;
  } else {
    delete headers.authorization;
  }
  // A browser's Origin (a dashboard form post) is not a cross-origin call to /token: CORS does not apply.
  delete headers.origin;
  // The Generate Token API and the dashboard issue bearer tokens (README): a DPoP header their caller sent
  // must not reach oidc-provider, which would bind the token to that key (given a proof made out for /token)
  // or refuse the request (given one for the caller's own URL).
  delete headers.dpop;
  delete headers['transfer-encoding'];
  const tokenRequest = requestWithBody(original, { method: 'POST', url: '/token', headers, body });
  ctx.req = ctx.request.req = ctx.response.req = tokenRequest;
  try {
    await provider(ctx, async () => {});
    const answer = typeof ctx.body === 'object' && ctx.body !== null ? (ctx.body as Record<string, unknown>) : {};
    return { status: ctx.status, body: answer };
  } finally {
    ctx.req = ctx.request.req = ctx.response.req = original;
  }
}

/** Only in-process callers can put one here: a request reaching /token from outside never has an entry. */
const identityChecks = new WeakMap<Context, IdentityCheck>();

/**
 * Runs `request` (a runTokenRequest on this context) with a condition on the account the password grant
 * checks: an account failing it is refused inside the grant like a wrong password, behind the grant's own
 * per-IP limit and sign-in throttle, so there is one place that counts attempts and no token is issued.
 */
export async function withIdentityCheck<T>(ctx: Context, identity: IdentityCheck, request: () => Promise<T>): Promise<T> {
  identityChecks.set(ctx, identity);
  try {
    return await request();
  } finally {
    identityChecks.delete(ctx);
  }
}

/** The identity condition an in-process caller put on this token request, if any. */
export function identityCheckOf(ctx: Context): IdentityCheck | undefined {
  return identityChecks.get(ctx);
}
