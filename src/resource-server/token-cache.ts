import { createHash } from 'node:crypto';

interface Entry<T> {
  value: T;
  until: number;
}

/**
 * Values kept until a time, keyed by a hash (a token, a proof's jti: the secret itself is not kept). Serves
 * the middleware's introspection answers (the time an answer may be reused is the bound on how long a revoked
 * token keeps working) and its DPoP replay record. Bounded in size: the oldest entries go first (a Map keeps
 * insertion order), after the expired ones at the front are swept, so they do not push live ones out.
 */
export class ExpiringCache<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(private readonly maxEntries: number) {}

  static key(secret: string): string {
    return createHash('sha256').update(secret).digest('base64url');
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, until: number, now = Date.now()): void {
    this.#sweep(now);
    this.#entries.delete(key);
    this.#entries.set(key, { value, until });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /**
   * Entries are kept in insertion order, which is close to expiry order for both uses (each entry lives about
   * as long as the others): dropping expired ones from the front keeps the map near the live set without a
   * full scan; one expiring out of order is still never returned (see get).
   */
  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.until > now) break;
      this.#entries.delete(key);
    }
  }
}
