import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** The issuer and the token endpoint or the called endpoint's URL, built from ISSUER, never from Host. */
function assertionAudiences(provider: Provider, route: string): string[] {
  return [provider.issuer, provider.urlFor('token'), provider.urlFor(route)];
}

/**
 * What a private_key_jwt client assertion's `aud` may be here: exactly one value, either the issuer (what
 * RFC 7523bis asks for) or the URL of the token endpoint or of the endpoint called, as this server publishes
 * them (what many client libraries still send). oidc-provider's own check, which runs first, accepts a list
 * holding any one of them: an assertion a client made for several servers, naming us among them, could be
 * replayed here before it expires. (Its URLs are built from ISSUER too: see pinEndpointUrlsToIssuer.)
 */
export async function assertClientAssertionAudience(ctx: KoaContextWithOIDC, claims: Readonly<Record<string, unknown>>): Promise<void> {
  const { aud } = claims;
  const single = Array.isArray(aud) ? (aud.length === 1 ? aud[0] : undefined) : aud;
  if (typeof single !== 'string' || !assertionAudiences(ctx.oidc.provider, ctx.oidc.route).includes(single)) {
    throw new errors.InvalidClientAuth('audience (aud) must be one value: the issuer identifier, or the URL of the token endpoint or of this endpoint');
  }
}

/**
 * An assertion's jti is remembered until its exp (that is how it is used once): an exp years ahead keeps a
 * record that long, and one past what a date can hold (exp 1e13) was stored as already expired on MongoDB,
 * so the same assertion was accepted again and again. Clients make a fresh assertion per request, valid
 * for seconds to minutes, so a bound of an hour (CLIENT_ASSERTION_MAX_LIFETIME_SECONDS) costs them nothing.
 */
export function assertClientAssertionLifetime(claims: Readonly<Record<string, unknown>>, maxLifetimeSeconds: number): void {
  const { exp, iat } = claims;
  const now = Date.now() / 1000;
  if (typeof exp !== 'number' || exp - now > maxLifetimeSeconds) {
    throw new errors.InvalidClientAuth(`the client assertion must expire (exp) within ${maxLifetimeSeconds} seconds`);
  }
  // Made in the future is made wrong (a clock far off, or one made to be used later): a minute of drift is fine.
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + ASSERTION_CLOCK_SKEW_SECONDS)) {
    throw new errors.InvalidClientAuth('the client assertion is issued in the future (iat)');
  }
}

const ASSERTION_CLOCK_SKEW_SECONDS = 60;
