import helmet from 'koa-helmet';
import type { Middleware } from 'koa';

/**
 * Security headers via helmet. The CSP allows only our own scripts and styles (no inline script), and
 * framing by nobody; a script-src must be present for oidc-provider to add the hash of its form_post script.
 */
export function securityHeaders(issuerIsHttps: boolean): Middleware {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
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
  }) as unknown as Middleware;
}
