import type Provider from 'oidc-provider';

/**
 * Routes whose URL oidc-provider builds only to send the browser that made the request onward: the resume
 * of an authorization after our pages, the logout confirmation form and its success page, the interaction
 * shortcuts. These stay on the host the browser is using. The browser's cookies for this interaction were
 * set on that host, so sending it to ISSUER's host instead (say `localhost` for a browser on `127.0.0.1`)
 * lost them and ended the sign-in with "authorization request has expired". The Host header cannot steer
 * another person's browser, and these answers are never cached (no-store), so nothing is gained by pinning.
 */
const BROWSER_NAVIGATION_ROUTES = new Set(['resume', 'end_session_confirm', 'end_session_success', 'abort', 'submit']);

/**
 * Every URL oidc-provider publishes or checks, from ISSUER instead of the request's Host header.
 *
 * oidc-provider builds a request's URLs (discovery's endpoints and jwks_uri, the `htu` a DPoP proof must
 * name, the audiences a client assertion may carry) from `ctx.href`, i.e. from whatever Host the client
 * sent. Anyone can send any Host: a cache in front of discovery would then hand an attacker's endpoints to
 * every client, and a DPoP proof or client assertion made for another server's token endpoint could be
 * replayed here under that server's name. Hydra (`urls.self.issuer`) and Keycloak (strict hostname) publish
 * their configured URLs only, and so do we: the provider is mounted at the root of our app, so each URL is
 * the issuer's origin plus its route. Only browser navigation keeps the browser's host (above).
 */
export function pinEndpointUrlsToIssuer(provider: Provider): void {
  const prototype = provider.OIDCContext.prototype;
  const urlFromRequest = prototype.urlFor;
  prototype.urlFor = function urlUnderIssuer(this: InstanceType<typeof provider.OIDCContext>, name: string, options?: Record<string, unknown>): string {
    if (BROWSER_NAVIGATION_ROUTES.has(name)) return urlFromRequest.call(this, name, options);
    return provider.urlFor(name, options);
  };
}
