/** Where one of our cookies lives: its name, path and whether it is Secure. */
export interface CookieScope {
  name: string;
  path: string;
  secure: boolean;
}

/**
 * Over https our cookies are `__Host-` prefixed, which browsers accept only Secure, for path / and from this
 * host itself: a sibling subdomain can then plant none of them (a CSRF secret it knows, a dashboard session
 * signing the person into another account, a pending sign-in). The prefix demands path /, so over https a
 * cookie is sent beyond `plainPath` too (they are HttpOnly and SameSite=Lax either way); over plain http
 * (development) it keeps its bare name and `plainPath`.
 */
export function cookieScope(baseName: string, secureCookies: boolean, plainPath: string): CookieScope {
  return secureCookies ? { name: `__Host-${baseName}`, path: '/', secure: true } : { name: baseName, path: plainPath, secure: false };
}
