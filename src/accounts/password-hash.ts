import { availableParallelism } from 'node:os';

import argon2 from 'argon2';

/** argon2id cost parameters (OWASP: m >= 19 MiB, t >= 2, p = 1). */
export interface Argon2Parameters {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
  /** Hashes computed at once; 0 = one per CPU core. */
  maxConcurrent?: number;
}

/**
 * Lets at most `limit` tasks run at once. argon2 runs on the libuv threadpool (4 threads by default);
 * with more hashing threads than cores, the event-loop thread gets a shrinking share of the CPU and every
 * other request (discovery, client_credentials) waits behind the hashes.
 */
class ConcurrencyLimit {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running += 1;
    try {
      return await task();
    } finally {
      this.#running -= 1;
      this.#waiting.shift()?.();
    }
  }
}

/**
 * argon2id hashing. The argon2 package runs the hash on the libuv threadpool, so a sign-in never blocks
 * the event loop. The PHC string keeps its parameters, so changed settings are detected per hash.
 */
export class PasswordHasher {
  readonly #options: argon2.HashOptions;
  /** Verified against when the account does not exist, so unknown users cost the same time. */
  readonly #dummyHash: Promise<string>;
  readonly #limit: ConcurrencyLimit;

  constructor(parameters: Argon2Parameters) {
    this.#limit = new ConcurrencyLimit(parameters.maxConcurrent || availableParallelism());
    this.#options = {
      type: argon2.argon2id,
      memoryCost: parameters.memoryKib,
      timeCost: parameters.timeCost,
      parallelism: parameters.parallelism,
    };
    this.#dummyHash = this.hash(`dummy-${Math.random()}`);
  }

  hash(password: string): Promise<string> {
    return this.#limit.run(() => argon2.hash(password, { ...this.#options, raw: false }));
  }

  /** False for a malformed stored hash too: a corrupt record must not become a way in, nor a 500. */
  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await this.#limit.run(() => argon2.verify(storedHash, password));
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
