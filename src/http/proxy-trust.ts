import type Koa from 'koa';

import type { Config } from '../config/index.js';

/**
 * Makes a Koa app (ours, the admin API's, oidc-provider's) read the client address as configured.
 *
 * Koa's ctx.ip is the first entry of X-Forwarded-For it keeps, and by default it keeps them all: the leftmost
 * entry, which the client writes itself, since an appending proxy (nginx's $proxy_add_x_forwarded_for) keeps
 * what arrived and adds the address it saw. Keeping only the last TRUSTED_PROXY_HOPS entries makes ctx.ip the
 * address our outermost proxy saw, so a made-up header cannot choose the address per-IP limits, the
 * per-(account, IP) sign-in backoff, audit and logs use.
 */
export function applyProxyTrust(app: Koa, config: Pick<Config, 'trustProxy' | 'trustedProxyHops'>): void {
  app.proxy = config.trustProxy;
  app.maxIpsCount = config.trustProxy ? config.trustedProxyHops : 0;
}
