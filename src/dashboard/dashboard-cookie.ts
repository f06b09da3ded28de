/** Where a dashboard cookie lives: its name, path and whether it is Secure. */
export interface DashboardCookie {
  name: string;
  path: string;
  secure: boolean;
}

/**
 * Over https a dashboard cookie is `__Host-` prefixed, which browsers accept only Secure, for path / and from
 * this host itself: a sibling subdomain can then neither plant a dashboard session of its own choosing
 * (signing the person into the attacker's account) nor a pending sign-in. The prefix demands path /, so over
 * https the cookies are sent beyond /dashboard too (HttpOnly and SameSite=Lax either way); over plain http
 * (development) they stay scoped to /dashboard under their bare names.
 */
export function dashboardCookie(baseName: string, secureCookies: boolean): DashboardCookie {
  return secureCookies ? { name: `__Host-${baseName}`, path: '/', secure: true } : { name: baseName, path: '/dashboard', secure: false };
}
