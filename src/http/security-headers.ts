import type { IncomingMessage, ServerResponse } from 'node:http';

import helmet from 'helmet';
import type { Context, Middleware, Next } from 'koa';

type HelmetOptions = NonNullable<Parameters<typeof helmet>[0]>;

/** The CSP allows only our own scripts and styles (no inline script), and framing by nobody. */
function helmetOptions(issuerIsHttps: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        // A script-src must be present for oidc-provider to add the hash of its form_post script.
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: issuerIsHttps ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  };
}

/**
 * The headers helmet sets, computed once. Our helmet options hold no per-request values (no nonces, no
 * functions), so the header set is the same on every response; running helmet's dozen middlewares per
 * request only recomputed it.
 */
function helmetHeaders(options: HelmetOptions): [string, string][] {
  const headers = new Map<string, string>();
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
      return response;
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
    getHeader(name: string) {
      return headers.get(name);
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('helmet did not finish synchronously; its headers cannot be precomputed');
  return [...headers];
}

/** Security headers (helmet's, with our CSP) on every response. */
export function securityHeaders(issuerIsHttps: boolean): Middleware {
  const headers = helmetHeaders(helmetOptions(issuerIsHttps));
  return async function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    for (const [name, value] of headers) ctx.response.set(name, value);
    await next();
  };
}
