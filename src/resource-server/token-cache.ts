import { createHash } from 'node:crypto';

interface Entry<T> {
  value: T;
  until: number;
}

/**
 * Remembers introspection answers for a short time, keyed by a hash of the token (the token itself is not
 * kept). The time an answer may be reused is the bound on how long a revoked token keeps working. Bounded in
 * size: the oldest entries go first (a Map keeps insertion order).
 */
export class IntrospectionCache<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(private readonly maxEntries: number) {}

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
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

  set(key: string, value: T, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
