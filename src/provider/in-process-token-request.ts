import type { Context, Middleware } from 'koa';

export interface TokenEndpointResult {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Hands the request to oidc-provider's token endpoint in-process: the same Koa context, re-addressed to
 * POST /token with a form body (the provider reads an already-parsed body when the stream is spent).
 * Path, method and headers are put back afterwards, so logs and metrics still name the API's own path.
 */
export async function runTokenRequest(
  ctx: Context,
  form: Record<string, string>,
  provider: Middleware,
  /** HTTP Basic client authentication (client_secret_basic), for clients registered with it. */
  basic?: { clientId: string; clientSecret: string },
): Promise<TokenEndpointResult> {
  if (ctx.req.readable) for await (const _chunk of ctx.req) void _chunk; // a GET's (empty) stream
  const encoded = new URLSearchParams(form).toString();
  const saved = {
    path: ctx.path,
    method: ctx.method,
    contentType: ctx.req.headers['content-type'],
    contentLength: ctx.req.headers['content-length'],
    authorization: ctx.req.headers.authorization,
    origin: ctx.req.headers.origin,
    body: ctx.request.body,
  };
  ctx.path = '/token';
  ctx.method = 'POST';
  ctx.req.headers['content-type'] = 'application/x-www-form-urlencoded';
  ctx.req.headers['content-length'] = String(Buffer.byteLength(encoded));
  // Only the credentials given here, never the caller's own Authorization header.
  if (basic) {
    const encode = (value: string) => encodeURIComponent(value);
    ctx.req.headers.authorization = `Basic ${Buffer.from(`${encode(basic.clientId)}:${encode(basic.clientSecret)}`).toString('base64')}`;
  } else {
    delete ctx.req.headers.authorization;
  }
  // A browser's Origin (a dashboard form post) is not a cross-origin call to /token: CORS does not apply.
  delete ctx.req.headers.origin;
  ctx.request.body = form;
  try {
    await provider(ctx, async () => {});
    const body = typeof ctx.body === 'object' && ctx.body !== null ? (ctx.body as Record<string, unknown>) : {};
    return { status: ctx.status, body };
  } finally {
    ctx.path = saved.path;
    ctx.method = saved.method;
    restoreHeader(ctx, 'content-type', saved.contentType);
    restoreHeader(ctx, 'content-length', saved.contentLength);
    restoreHeader(ctx, 'authorization', saved.authorization);
    restoreHeader(ctx, 'origin', saved.origin);
    ctx.request.body = saved.body;
  }
}

function restoreHeader(ctx: Context, name: string, value: string | undefined): void {
  if (value === undefined) delete ctx.req.headers[name];
  else ctx.req.headers[name] = value;
}

