import type { Store, StoredDocument } from '../store/index.js';

export const THROTTLE_COLLECTION = 'signin_throttle';

export interface ThrottleSettings {
  /** Failures per (account, IP) answered without delay before the backoff starts. */
  freeFailures: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Failures per account, from all addresses, within the window, after which every attempt is refused. */
  accountCeiling: number;
  accountWindowSeconds: number;
  /** How long an address the account completed a sign-in from stays exempt from the ceiling (0: never). */
  knownAddressDays: number;
}

interface PairDocument extends StoredDocument {
  failures: number;
  blockedUntil?: Date;
}

interface AccountWindowDocument extends StoredDocument {
  failures: number;
  ceilingNotified?: boolean;
}

export type ThrottleState =
  | { throttled: false }
  | { throttled: true; reason: 'backoff' | 'ceiling'; retryAfterMs: number };

export interface FailureOutcome {
  /** True only for the failure that reached the per-account ceiling (so the owner is told once). */
  ceilingReached: boolean;
}

/**
 * Sign-in throttling kept in the Store, so every instance agrees. Two layers:
 * - per (account, client IP): after a few free failures, each further failure blocks that pair for a
 *   doubling delay (base, 2x base, ... capped). One address therefore gets only a handful of guesses per
 *   hour, and cannot reach the account ceiling on its own, so it cannot lock the owner out.
 * - per account: a ceiling of failures per window from all addresses (a distributed attack); when hit,
 *   every attempt is refused until the window ends, and the owner is told once. Anyone can trip it, so an
 *   address the account completed a sign-in from recently (a known address) is let through while it
 *   holds, still under its own pair backoff: the owner keeps working from where they work, and a guesser
 *   sharing that address gets the handful of guesses the backoff allows and no more.
 * Callers answer a throttled attempt exactly like bad credentials.
 */
export class SignInThrottle {
  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings,
  ) {}

  get #collection() {
    return this.store.collection<PairDocument & AccountWindowDocument>(THROTTLE_COLLECTION);
  }

  #pairId(subject: string, ip: string): string {
    return `pair:${subject}:${ip}`;
  }

  #accountId(subject: string): string {
    return `account:${subject}`;
  }

  #knownAddressId(subject: string, ip: string): string {
    return `known:${subject}:${ip}`;
  }

  /** Whether the account completed a sign-in from this address within the known-address period. */
  async #isKnownAddress(subject: string, ip: string): Promise<boolean> {
    if (this.settings.knownAddressDays === 0) return false;
    return (await this.#collection.findOne({ _id: this.#knownAddressId(subject, ip) })) !== null;
  }

  /** Whether an attempt for this subject (an account id, or a stand-in for an unknown name) may go on. */
  async check(subject: string, ip: string): Promise<ThrottleState> {
    const now = Date.now();
    const [pair, window] = await Promise.all([
      this.#collection.findOne({ _id: this.#pairId(subject, ip) }),
      this.#collection.findOne({ _id: this.#accountId(subject) }),
    ]);
    // The known-address read happens only at the ceiling, which ordinary sign-ins never meet.
    if (window && window.failures >= this.settings.accountCeiling && !(await this.#isKnownAddress(subject, ip))) {
      return { throttled: true, reason: 'ceiling', retryAfterMs: Math.max(0, (window.expiresAt?.getTime() ?? now) - now) };
    }
    if (pair?.blockedUntil && pair.blockedUntil.getTime() > now) {
      return { throttled: true, reason: 'backoff', retryAfterMs: pair.blockedUntil.getTime() - now };
    }
    return { throttled: false };
  }

  /** Counts a failed password or second factor; each counter is one atomic $inc. */
  async recordFailure(subject: string, ip: string): Promise<FailureOutcome> {
    const now = Date.now();
    const forgetAfter = new Date(now + Math.max(this.settings.backoffMaxMs, this.settings.accountWindowSeconds * 1000));
    const pair = await this.#collection.updateOne(
      { _id: this.#pairId(subject, ip) },
      { $inc: { failures: 1 }, $set: { expiresAt: forgetAfter } },
      { upsert: true },
    );
    const failures = pair?.failures ?? 1;
    if (failures > this.settings.freeFailures) {
      const exponent = Math.min(failures - this.settings.freeFailures - 1, 30);
      const delay = Math.min(this.settings.backoffBaseMs * 2 ** exponent, this.settings.backoffMaxMs);
      await this.#collection.updateOne({ _id: this.#pairId(subject, ip) }, { $set: { blockedUntil: new Date(now + delay) } });
    }

    const window = await this.#collection.updateOne(
      { _id: this.#accountId(subject) },
      { $inc: { failures: 1 }, $setOnInsert: { expiresAt: new Date(now + this.settings.accountWindowSeconds * 1000) } },
      { upsert: true },
    );
    if (!window || window.failures < this.settings.accountCeiling) return { ceilingReached: false };
    // Only the one caller that flips the flag reports the ceiling, however many race here.
    const flipped = await this.#collection.updateOne(
      { _id: this.#accountId(subject), ceilingNotified: { $exists: false } },
      { $set: { ceilingNotified: true } },
    );
    return { ceilingReached: flipped !== null };
  }

  /**
   * A full sign-in succeeded from this address: its backoff is forgotten (the account window is not), and
   * the address is known to the account for the known-address period.
   */
  async recordSuccess(subject: string, ip: string): Promise<void> {
    await this.#collection.deleteMany({ _id: this.#pairId(subject, ip) });
    if (this.settings.knownAddressDays === 0) return;
    await this.#collection.updateOne(
      { _id: this.#knownAddressId(subject, ip) },
      { $set: { expiresAt: new Date(Date.now() + this.settings.knownAddressDays * 86400 * 1000) } },
      { upsert: true },
    );
  }
}
