import { createHash } from 'node:crypto';

import type { Context, Middleware } from 'koa';
import { decodeJwt } from 'jose';

import type { InternalClientCredentials } from '../clients/index.js';
import { ACR_MFA } from '../mfa/index.js';
import { runTokenRequest, type SignInSession } from '../provider/index.js';
import { randomSecret } from '../secrets/index.js';
import { cookieScope, type CookieScope } from '../http/cookie-scope.js';

const SIGN_IN_COOKIE = 'authtoken.dashboard.signin';
const SIGN_IN_TTL_MS = 10 * 60 * 1000;

export const DASHBOARD_CALLBACK_PATH = '/dashboard/callback';

/** What the dashboard learns from a finished sign-in: who, and how (RFC 8176 amr). */
export interface SignedIn {
  accountId: string;
  amr: string[];
  /** True when this sign-in was already a step-up asking for the second factor. */
  steppedUp: boolean;
  /**
   * Whether the person ticked "keep me signed in on this device": read from this browser's sign-in session at
   * the provider (the one that just issued the code, found by its signed cookie), never from the request.
   */
  keepSignedIn: boolean;
}

/**
 * The dashboard signs people in as an ordinary OIDC relying party of this server (authorization code +
 * PKCE through our own login and MFA pages), so it gets exactly what any app gets, and the provider session
 * never learns anything the pages did not establish. Only the code exchange is in-process: the dashboard
 * hands its token request to the provider's token endpoint without a network hop (the issuer URL may not be
 * reachable from inside a deployment), and so may read the ID token it gets back without re-verifying it.
 */
export class DashboardSignIn {
  readonly #cookie: CookieScope;

  constructor(
    private readonly issuer: string,
    private readonly client: InternalClientCredentials,
    private readonly provider: () => Middleware,
    secureCookies: boolean,
    /** The provider's sign-in session of the browser making a request, if it has one. */
    private readonly signInSessionOf: (ctx: Context) => Promise<SignInSession | undefined>,
  ) {
    this.#cookie = cookieScope(SIGN_IN_COOKIE, secureCookies, '/dashboard');
  }

  get redirectUri(): string {
    return `${this.issuer}${DASHBOARD_CALLBACK_PATH}`;
  }

  /** Redirects the browser to /auth; the state and PKCE verifier wait in a signed, HttpOnly cookie. */
  begin(ctx: Context, options: { requireSecondFactor: boolean }): void {
    const state = randomSecret(16);
    const verifier = randomSecret(32);
    ctx.cookies.set(this.#cookie.name, `${state}.${verifier}.${options.requireSecondFactor ? 1 : 0}`, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#cookie.secure,
      path: this.#cookie.path,
      maxAge: SIGN_IN_TTL_MS,
    });
    const parameters = new URLSearchParams({
      client_id: this.client.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: this.redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(options.requireSecondFactor ? { acr_values: ACR_MFA } : {}),
    });
    ctx.status = 303;
    ctx.redirect(`/auth?${parameters.toString()}`);
  }

  /**
   * Checks the callback against this browser's pending sign-in and exchanges the code. Undefined when the
   * callback is not ours to trust (no pending sign-in, another state, an error from /auth, a failed exchange).
   */
  async complete(ctx: Context): Promise<SignedIn | undefined> {
    const pending = ctx.cookies.get(this.#cookie.name, { signed: true });
    ctx.cookies.set(this.#cookie.name, null, { signed: true, path: this.#cookie.path, secure: this.#cookie.secure });
    const [state, verifier, steppedUp] = pending?.split('.') ?? [];
    const code = typeof ctx.query.code === 'string' ? ctx.query.code : undefined;
    if (!state || !verifier || !code || ctx.query.state !== state) return undefined;
    const result = await runTokenRequest(
      ctx,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.redirectUri,
        code_verifier: verifier,
        client_id: this.client.clientId,
        client_secret: this.client.clientSecret,
      },
      this.provider(),
    );
    const idToken = result.body.id_token;
    if (result.status !== 200 || typeof idToken !== 'string') return undefined;
    const claims = decodeJwt(idToken);
    if (typeof claims.sub !== 'string') return undefined;
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [];
    // The browser just came back from the provider with that session; if it is missing or another account's,
    // the dashboard cookie simply ends with the browser (the safer reading).
    const signInSession = await this.signInSessionOf(ctx);
    const keepSignedIn = signInSession !== undefined && signInSession.accountId === claims.sub && signInSession.remembered;
    return { accountId: claims.sub, amr, steppedUp: steppedUp === '1', keepSignedIn };
  }
}
