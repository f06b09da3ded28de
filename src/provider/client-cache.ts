import { LRUCache } from 'lru-cache';
import type Provider from 'oidc-provider';

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

export interface ClientCacheOptions {
  /** How long another instance may keep using a client after it changed; 0 disables the cache. */
  ttlMs: number;
  maxEntries: number;
}

/**
 * Client instances by client_id, in front of oidc-provider's Client.find. Without it every token request
 * reads the client from the store, parses it, and oidc-provider hashes its JSON to find its own cached
 * instance: a large share of the client-credentials cost. A change made through this instance (our
 * registry, or the Client adapter) evicts the entry at once; other instances see it within `ttlMs`.
 * Unknown client ids are not cached, so a new client works everywhere immediately.
 */
export class ClientCache {
  /**
   * One LRU per provider instance: Client instances belong to the provider that built them, and the
   * provider is rebuilt when signing keys change. The newest two are kept so eviction reaches a provider
   * still finishing requests after a switch.
   */
  #caches: LRUCache<string, Client>[] = [];

  constructor(private readonly options: ClientCacheOptions) {}

  /** Forget a client (after it was changed or deleted). */
  invalidate(clientId: string): void {
    for (const entries of this.#caches) entries.delete(clientId);
  }

  /** Puts the cache in front of the provider's client lookup. */
  install(provider: Provider): void {
    if (this.options.ttlMs <= 0 || this.options.maxEntries <= 0) return;
    // ttlResolution 0: read the clock on each lookup. With the default (1 ms), lru-cache caches the time and
    // arms a timer to forget it, about one timer per token request at our rates.
    const entries = new LRUCache<string, Client>({ max: this.options.maxEntries, ttl: this.options.ttlMs, ttlResolution: 0, updateAgeOnGet: false });
    this.#caches = [entries, ...this.#caches].slice(0, 2);
    const find = provider.Client.find.bind(provider.Client);
    // A hit answers with a settled promise and no async frame: it is every token request's client lookup.
    provider.Client.find = (clientId: string) => {
      const cached = entries.get(clientId);
      if (cached) return Promise.resolve(cached);
      return find(clientId).then((client) => {
        if (client) entries.set(clientId, client);
        return client;
      });
    };
  }
}
