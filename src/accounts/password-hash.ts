import { availableParallelism } from 'node:os';

import { hash as argon2Hash, parseOptions, verify as argon2Verify, type Options } from '@node-rs/argon2';

/** argon2id cost parameters (OWASP: m >= 19 MiB, t >= 2, p = 1). */
export interface Argon2Parameters {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
  /** Hashes computed at once; 0 = twice the CPU cores (see ConcurrencyLimit). */
  maxConcurrent?: number;
}

/**
 * Lets at most `limit` tasks run at once. argon2 runs on the libuv threadpool (4 threads by default);
 * with many more hashing threads than cores, the event-loop thread gets a shrinking share of the CPU and
 * every other request (discovery, client_credentials) waits behind the hashes. The default is twice the
 * cores: with one per core, a core idles while the event loop answers a finished hash and starts the next.
 * Measured with `npm run bench` on 2 cores: 37-41 grants/s at 2, 45-48 at 3, 51-54 at 4, discovery p99
 * 9-17 ms throughout. (Beyond 4, raise UV_THREADPOOL_SIZE too: the pool has 4 threads by default.)
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
 * `Algorithm.Argon2id` of @node-rs/argon2: a `const enum` there, which isolatedModules cannot read from a
 * declaration file, so the value is spelled out (and checked against the type).
 */
const ARGON2ID: NonNullable<Options['algorithm']> = 2;
/** `Version.V0x13` (argon2 version 19), the current one; older hashes are rehashed. */
const ARGON2_VERSION_19: NonNullable<Options['version']> = 1;

/**
 * argon2id hashing with @node-rs/argon2 (the RustCrypto implementation): it runs on the libuv threadpool,
 * so a sign-in never blocks the event loop, and on this machine it verifies about 30% faster than the
 * `argon2` package at the same parameters, which is password-grant throughput. Hashes are standard PHC
 * strings carrying their parameters, so changed settings are detected per hash (and hashes written by
 * other argon2 implementations verify).
 */
export class PasswordHasher {
  readonly #options: Required<Pick<Options, 'algorithm' | 'version' | 'memoryCost' | 'timeCost' | 'parallelism'>>;
  /** Verified against when the account does not exist, so unknown users cost the same time. */
  readonly #dummyHash: Promise<string>;
  readonly #limit: ConcurrencyLimit;

  constructor(parameters: Argon2Parameters) {
    this.#limit = new ConcurrencyLimit(parameters.maxConcurrent || availableParallelism() * 2);
    this.#options = {
      algorithm: ARGON2ID,
      version: ARGON2_VERSION_19,
      memoryCost: parameters.memoryKib,
      timeCost: parameters.timeCost,
      parallelism: parameters.parallelism,
    };
    this.#dummyHash = this.hash(`dummy-${Math.random()}`);
  }

  hash(password: string): Promise<string> {
    return this.#limit.run(() => argon2Hash(password, this.#options));
  }

  /** False for a malformed stored hash too: a corrupt record must not become a way in, nor a 500. */
  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await this.#limit.run(() => argon2Verify(storedHash, password));
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
      const stored = parseOptions(storedHash);
      const wanted = this.#options;
      return (
        stored.algorithm !== wanted.algorithm ||
        stored.version !== wanted.version ||
        stored.memoryCost !== wanted.memoryCost ||
        stored.timeCost !== wanted.timeCost ||
        stored.parallelism !== wanted.parallelism
      );
    } catch {
      return true;
    }
  }
}
