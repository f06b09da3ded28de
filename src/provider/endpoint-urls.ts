import type Provider from 'oidc-provider';

/**
 * Every URL oidc-provider builds for a request, from ISSUER instead of the request's Host header.
 *
 * oidc-provider builds a request's URLs (discovery's endpoints and jwks_uri, the `htu` a DPoP proof must
 * name, the audiences a client assertion may carry, the resume URL it redirects the browser to) from
 * `ctx.href`, i.e. from whatever Host the client sent. Anyone can send any Host: a cache in front of
 * discovery would then hand an attacker's endpoints to every client, and a DPoP proof or client assertion
 * made for another server's token endpoint could be replayed here under that server's name. Hydra
 * (`urls.self.issuer`) and Keycloak (strict hostname) publish their configured URLs only, and so do we:
 * the provider is mounted at the root of our app, so each URL is the issuer's origin plus its route.
 * Clients may still call us by any name (an internal one, through a proxy); what we publish and check is
 * the public one.
 */
export function pinEndpointUrlsToIssuer(provider: Provider): void {
  provider.OIDCContext.prototype.urlFor = function urlUnderIssuer(name: string, options?: Record<string, unknown>): string {
    return provider.urlFor(name, options);
  };
}
