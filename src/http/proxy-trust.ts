import { isIP } from 'node:net';

import type Koa from 'koa';

import type { Config } from '../config/index.js';

/** Where the normalised address of a request is kept once read (Koa keeps its own under a private symbol). */
const CLIENT_ADDRESS = Symbol('client address');

type AddressedRequest = Koa.Request & { [CLIENT_ADDRESS]?: string };

/**
 * Makes a Koa app (ours, the admin API's, oidc-provider's) read the client address as configured.
 *
 * Koa's ctx.ip is the first entry of X-Forwarded-For it keeps, and by default it keeps them all: the leftmost
 * entry, which the client writes itself, since an appending proxy (nginx's $proxy_add_x_forwarded_for) keeps
 * what arrived and adds the address it saw. Keeping only the last TRUSTED_PROXY_HOPS entries makes ctx.ip the
 * address our outermost proxy saw, so a made-up header cannot choose the address per-IP limits, the
 * per-(account, IP) sign-in backoff, audit and logs use.
 *
 * The entry is then normalised (see clientAddress): a proxy that writes ports would otherwise give every
 * connection of one client its own per-IP budget, and an entry that is no address at all falls back to the
 * connection's own address.
 */
export function applyProxyTrust(app: Koa, config: Pick<Config, 'trustProxy' | 'trustedProxyHops'>): void {
  app.proxy = config.trustProxy;
  app.maxIpsCount = config.trustProxy ? config.trustedProxyHops : 0;
  Object.defineProperty(app.request, 'ip', {
    configurable: true,
    get(this: AddressedRequest): string {
      let address = this[CLIENT_ADDRESS];
      if (address === undefined) {
        address = clientAddress(this.ips[0]) ?? clientAddress(this.socket.remoteAddress) ?? '';
        this[CLIENT_ADDRESS] = address;
      }
      return address;
    },
    set(this: AddressedRequest, value: string) {
      this[CLIENT_ADDRESS] = value;
    },
  });
}

/**
 * One address per client, whatever the notation: `1.2.3.4:5678` and `[2001:db8::1]:443` lose their port,
 * an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, how a dual-stack socket reports IPv4) is the IPv4 address,
 * and anything that is not an IP address after that (`unknown`, garbage) is undefined.
 */
export function clientAddress(entry: string | undefined): string | undefined {
  if (entry === undefined) return undefined;
  let address = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address);
  if (bracketed?.[1]) address = bracketed[1];
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) address = mapped[1];
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}
