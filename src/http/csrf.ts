import { randomBytes } from 'node:crypto';

import type { Context } from 'koa';

import { constantTimeEqual, type ServerSecrets } from '../secrets/index.js';
import { cookieScope, type CookieScope } from './cookie-scope.js';

/** Over https `__Host-authtoken.csrf`: no sibling subdomain can plant a secret it knows (see cookieScope). */
const COOKIE = 'authtoken.csrf';

/**
 * CSRF protection for our forms: a random per-browser secret in an HttpOnly, SameSite=Lax, signed cookie,
 * and in each form a token that is an HMAC of that secret and the form's purpose (e.g. the interaction
 * uid). A cross-site page can neither read the cookie nor compute the token. Small enough to own; the
 * common Koa CSRF middlewares need a session store we do not otherwise have.
 */
export class CsrfProtection {
  readonly #cookie: CookieScope;

  constructor(
    private readonly secrets: ServerSecrets,
    secureCookies: boolean,
  ) {
    this.#cookie = cookieScope(COOKIE, secureCookies, '/');
  }

  #browserSecret(ctx: Context, create: boolean): string | undefined {
    const existing = ctx.cookies.get(this.#cookie.name, { signed: true });
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    if (!create) return undefined;
    const secret = randomBytes(32).toString('base64url');
    ctx.cookies.set(this.#cookie.name, secret, { signed: true, httpOnly: true, sameSite: 'lax', secure: this.#cookie.secure, path: this.#cookie.path });
    return secret;
  }

  #mac(browserSecret: string, purpose: string): string {
    return this.secrets.mac('code-hash', `csrf\u0000${browserSecret}\u0000${purpose}`);
  }

  /** The token to embed in a form for this purpose; sets the browser cookie when missing. */
  token(ctx: Context, purpose: string): string {
    return this.#mac(this.#browserSecret(ctx, true) as string, purpose);
  }

  /** True when the submitted token matches this browser and purpose. */
  verify(ctx: Context, purpose: string, submitted: unknown): boolean {
    const browserSecret = this.#browserSecret(ctx, false);
    if (!browserSecret || typeof submitted !== 'string') return false;
    return constantTimeEqual(this.#mac(browserSecret, purpose), submitted);
  }
}
