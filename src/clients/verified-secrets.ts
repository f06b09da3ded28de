import { LRUCache } from 'lru-cache';

import { constantTimeEqual, type ServerSecrets } from '../secrets/index.js';
import { verifyClientSecret } from './secret-hash.js';

export interface VerifiedSecretsOptions {
  /** How long a verified secret is remembered; 0 turns the memory off (every check hashes). */
  ttlMs: number;
  maxEntries: number;
}

/**
 * Client-secret checks with a memory of the secrets that verified recently, keyed by the stored hash:
 * a partner authenticating again with the same secret is compared in constant time against it instead
 * of recomputing the keyed hash, which was the largest single cost of a token request after the
 * provider itself. Hashing at rest protects the database and its backups; this memory lives in the
 * process, next to the master key every hash derives from, so it adds no new way to reach a secret.
 * A rotated secret has a new stored hash and so never meets an old entry. It follows the client cache's
 * settings (CLIENT_CACHE_TTL_MS, CLIENT_CACHE_MAX_ENTRIES): turning that off turns this off.
 */
export class VerifiedClientSecrets {
  readonly #verified: LRUCache<string, string> | undefined;

  constructor(
    private readonly secrets: ServerSecrets,
    options: VerifiedSecretsOptions,
  ) {
    // ttlResolution 0, as in the client cache: no timer armed per lookup to expire a cached clock reading.
    if (options.ttlMs > 0 && options.maxEntries > 0) this.#verified = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs, ttlResolution: 0 });
  }

  /** True when `presented` is the secret whose hash is `storedHash`. */
  matches(storedHash: string, presented: string): boolean {
    const remembered = this.#verified?.get(storedHash);
    if (remembered !== undefined && constantTimeEqual(remembered, presented)) return true;
    if (!verifyClientSecret(this.secrets, storedHash, presented)) return false;
    this.#verified?.set(storedHash, presented);
    return true;
  }
}
