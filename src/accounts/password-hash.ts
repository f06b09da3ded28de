import argon2 from 'argon2';

/** argon2id cost parameters (OWASP: m >= 19 MiB, t >= 2, p = 1). */
export interface Argon2Parameters {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/**
 * argon2id hashing. The argon2 package runs the hash on the libuv threadpool, so a sign-in never blocks
 * the event loop. The PHC string keeps its parameters, so changed settings are detected per hash.
 */
export class PasswordHasher {
  readonly #options: argon2.HashOptions;
  /** Verified against when the account does not exist, so unknown users cost the same time. */
  readonly #dummyHash: Promise<string>;

  constructor(parameters: Argon2Parameters) {
    this.#options = {
      type: argon2.argon2id,
      memoryCost: parameters.memoryKib,
      timeCost: parameters.timeCost,
      parallelism: parameters.parallelism,
    };
    this.#dummyHash = this.hash(`dummy-${Math.random()}`);
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, { ...this.#options, raw: false });
  }

  /** False for a malformed stored hash too: a corrupt record must not become a way in, nor a 500. */
  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(storedHash, password);
    } catch {
      return false;
    }
  }

  /** Spends the time of one verification against a hash nobody can match. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.#dummyHash, password);
    return false;
  }

  /** True when the stored hash was made with other parameters than the configured ones. */
  needsRehash(storedHash: string): boolean {
    try {
      return argon2.needsRehash(storedHash, this.#options);
    } catch {
      return true;
    }
  }
}
