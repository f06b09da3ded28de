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
  readonly #entries: LRUCache<string, Client> | undefined;

  constructor(options: ClientCacheOptions) {
    this.#entries =
      options.ttlMs > 0 && options.maxEntries > 0
        ? new LRUCache<string, Client>({ max: options.maxEntries, ttl: options.ttlMs, updateAgeOnGet: false })
        : undefined;
  }

  /** Forget a client (after it was changed or deleted). */
  invalidate(clientId: string): void {
    this.#entries?.delete(clientId);
  }

  /** Puts the cache in front of the provider's client lookup. */
  install(provider: Provider): void {
    const entries = this.#entries;
    if (!entries) return;
    const find = provider.Client.find.bind(provider.Client);
    provider.Client.find = async (clientId: string) => {
      const cached = entries.get(clientId);
      if (cached) return cached;
      const client = await find(clientId);
      if (client) entries.set(clientId, client);
      return client;
    };
  }
}
