import type { KoaContextWithOIDC } from 'oidc-provider';

/** Client metadata: the browser origins (scheme://host[:port]) of a single-page app allowed to call us. */
export const WEB_ORIGINS = 'web_origins';

type CorsClient = NonNullable<KoaContextWithOIDC['oidc']['client']>;

function originOf(uri: string): string | undefined {
  return URL.parse(uri)?.origin;
}

/**
 * CORS for the token, userinfo, introspection and revocation endpoints: only the web origins a client
 * registered (like Keycloak's "Web origins"), plus, for a public client, the origins of its redirect URIs
 * (a single-page app is served from where it is redirected back to). Nothing else, never `null`.
 */
export function clientBasedCors(ctx: KoaContextWithOIDC, origin: string, client: CorsClient): boolean {
  if (origin === 'null') return false;
  const registered = (client as CorsClient & { [WEB_ORIGINS]?: string[] })[WEB_ORIGINS] ?? [];
  if (registered.includes(origin)) return true;
  return client.clientAuthMethod === 'none' && (client.redirectUris ?? []).some((uri) => originOf(uri) === origin);
}

/** Validates one web origin: an http(s) origin with nothing after the host and port. */
export function isWebOrigin(value: string): boolean {
  const parsed = URL.parse(value);
  return parsed !== null && (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.origin === value;
}
