import { randomUUID } from 'node:crypto';

import { DuplicateKeyError, upsertById, type Filter, type Store, type StoredDocument, type Update } from '../store/index.js';

export const THROTTLE_COLLECTION = 'signin_throttle';

/**
 * How long an attempt past the free ones holds its pair while being checked, unless ThrottleSettings says. It
 * need only outlive one check (an argon2 verification, well under a second, or a second factor's few store
 * calls): it ends early only for an instance that died mid-check or a store that failed as the hold was given
 * back, and meanwhile that address's right passwords wait. A hold that ends before its check only lets the
 * next attempt be checked alongside: both stay counted, and each failure still earns its backoff.
 */
export const DEFAULT_CHECK_HOLD_MS = 5_000;

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
  /**
   * The longest an attempt past the free failures keeps its (account, IP) pair held while its password or
   * code is checked; it only matters when the instance dies mid-check, or the store fails as the hold is
   * given back (default DEFAULT_CHECK_HOLD_MS).
   */
  checkHoldMs?: number;
}

interface PairDocument extends StoredDocument {
  /** Failures counted so far, attempts being checked included (each is reserved as a failure first). */
  failures: number;
  /**
   * The backoff failures earned: no attempt of the pair is checked before it ends. Set on every document
   * written since reservations exist; `new Date(0)` when not backed off.
   */
  blockedUntil?: Date;
  /**
   * The hold of the attempt past the free failures being checked: the pair's other attempts wait for its outcome
   * (a success frees them) instead of being refused. A field apart from the backoff, so that giving a hold back
   * can never end a backoff written meanwhile. `new Date(0)` when not held; missing in older documents.
   */
  heldUntil?: Date;
  /** Random, new at every success: a reservation made before a success must not touch the count it started. */
  generation?: string;
  /**
   * Written by the version before `heldUntil`, where a hold lived in `blockedUntil`: when set, `blockedUntil` is
   * such a hold. Only read (so it is still waited for, never skipped) and removed whenever a backoff is written.
   */
  checking?: boolean;
}

interface AccountWindowDocument extends StoredDocument {
  /** Failures in the window, attempts being checked included. */
  failures: number;
  ceilingNotified?: boolean;
}

export type ThrottleState =
  | { throttled: false }
  | { throttled: true; reason: 'backoff' | 'ceiling'; retryAfterMs: number };

type Throttled = Extract<ThrottleState, { throttled: true }>;

/** An attempt allowed to be checked: settle it with recordFailure or release, exactly once. */
export interface AttemptTicket {
  readonly subject: string;
  readonly ip: string;
  /** The pair's count with this attempt in it, and the document it was counted in. */
  readonly pairCount: number;
  readonly pairGeneration: string | undefined;
  /** Set when this attempt holds the pair while it is checked (it was past the free failures): the hold to give back. */
  readonly heldUntil: Date | undefined;
  readonly windowCount: number;
  readonly windowExpiresAt: Date | undefined;
}

/** The outcome of `reserve`: refused (answer it like bad credentials), or a ticket to check the attempt. */
export type AttemptReservation = Throttled | { throttled: false; ticket: AttemptTicket };

export interface FailureOutcome {
  /** True only for the failure that reached the per-account ceiling (so the owner is told once). */
  ceilingReached: boolean;
}

/** Rounds of "update, else read why" before a reservation gives up and refuses (only under a storm of changes). */
const RESERVATION_ROUNDS = 4;
/**
 * How long an attempt waits for another attempt of its pair being checked past the free failures, and how
 * often it looks again. Sequentially it would have come after that one; refusing it instead turned concurrent
 * right passwords of one person (an app's server signing them in on several connections) into invalid_grant.
 */
const CHECK_WAIT_MS = 10_000;
const CHECK_POLL_MS = 40;
const NOT_BLOCKED = new Date(0);
const NOT_HELD = new Date(0);

/** When the backoff the pair's failures earned ends (ms); a previous version's hold, in `blockedUntil`, is none. */
function backoffEnd(pair: PairDocument): number {
  return pair.checking === true ? 0 : (pair.blockedUntil?.getTime() ?? 0);
}

/** When the hold of the attempt being checked ends (ms), a hold written by the previous version included. */
function holdEnd(pair: PairDocument): number {
  const legacyHold = pair.checking === true ? (pair.blockedUntil?.getTime() ?? 0) : 0;
  return Math.max(pair.heldUntil?.getTime() ?? 0, legacyHold);
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
 *
 * An attempt is reserved (counted as a failure) before the password or code is checked, each counter by one
 * conditional single-document update, and settled afterwards: a failure keeps the count, anything else gives
 * it back. Checking first and counting later let a burst of concurrent attempts all past the check. An
 * attempt past the free failures also holds its pair while it is checked, so the next one waits for its
 * outcome (and the backoff it earns), as it would have sequentially. The hold and the backoff are separate
 * fields: an attempt gives back only its hold, so a backoff another attempt earned meanwhile always stays.
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

  #forgetPairAfter(now: number): Date {
    return new Date(now + Math.max(this.settings.backoffMaxMs, this.settings.accountWindowSeconds * 1000));
  }

  #backoffMs(failures: number): number {
    const exponent = Math.min(failures - this.settings.freeFailures - 1, 30);
    return Math.min(this.settings.backoffBaseMs * 2 ** exponent, this.settings.backoffMaxMs);
  }

  /** Whether the account completed a sign-in from this address within the known-address period. */
  async #isKnownAddress(subject: string, ip: string): Promise<boolean> {
    if (this.settings.knownAddressDays === 0) return false;
    return (await this.#collection.findOne({ _id: this.#knownAddressId(subject, ip) })) !== null;
  }

  /**
   * Reserves an attempt for this subject (an account id, or a stand-in for an unknown name) from this
   * address, or refuses it while the account is at its ceiling or the pair is backed off (or still held by
   * an attempt being checked when the wait for it ends).
   */
  async reserve(subject: string, ip: string): Promise<AttemptReservation> {
    const deadline = Date.now() + CHECK_WAIT_MS;
    for (;;) {
      const now = Date.now();
      // The pair first: an attempt it refuses or keeps waiting never touches the account's window, so one
      // address cannot fill the per-account ceiling with attempts that were never checked.
      const pair = await this.#reservePairSlot(subject, ip, now);
      if (pair.throttled) {
        // Bounded by the deadline: a hold outliving it is an instance that died mid-check (checkHoldMs ends it).
        if (!pair.held || Date.now() + CHECK_POLL_MS > deadline) return { throttled: true, reason: pair.reason, retryAfterMs: pair.retryAfterMs };
        await this.#waitForPairToOpen(subject, ip, deadline);
        continue;
      }
      const pairSlot = { subject, ip, pairGeneration: pair.generation, heldUntil: pair.heldUntil };
      const window = await this.#reserveWindowSlot(subject, ip, now).catch(async (error: unknown) => {
        // The pair is reserved already: give it back rather than leave it held for checkHoldMs (best effort, the
        // store may be what failed; the caller sees the first error).
        await this.#releasePairSlot(pairSlot).catch(() => undefined);
        throw error;
      });
      if (window.throttled) {
        await this.#releasePairSlot(pairSlot);
        return window;
      }
      return this.#ticket(subject, ip, pair, window);
    }
  }

  /** Waits, reading only, until the pair is no longer held by an attempt being checked (or the deadline). */
  async #waitForPairToOpen(subject: string, ip: string, deadline: number): Promise<void> {
    while (Date.now() + CHECK_POLL_MS <= deadline) {
      await new Promise((resolve) => setTimeout(resolve, CHECK_POLL_MS));
      const pair = await this.#collection.findOne({ _id: this.#pairId(subject, ip) });
      if (!pair || holdEnd(pair) <= Date.now()) return;
    }
  }

  #ticket(
    subject: string,
    ip: string,
    pair: { count: number; generation: string | undefined; heldUntil: Date | undefined },
    window: { count: number; expiresAt: Date | undefined },
  ): AttemptReservation {
    return {
      throttled: false,
      ticket: {
        subject,
        ip,
        pairCount: pair.count,
        pairGeneration: pair.generation,
        heldUntil: pair.heldUntil,
        windowCount: window.count,
        windowExpiresAt: window.expiresAt,
      },
    };
  }

  async #reserveWindowSlot(subject: string, ip: string, now: number): Promise<Throttled | { throttled: false; count: number; expiresAt: Date | undefined }> {
    const id = this.#accountId(subject);
    const ceiling = this.settings.accountCeiling;
    for (let round = 0; round < RESERVATION_ROUNDS; round += 1) {
      const below = await this.#collection.updateOne({ _id: id, failures: { $lt: ceiling } }, { $inc: { failures: 1 } });
      if (below) return { throttled: false, count: below.failures, expiresAt: below.expiresAt };
      const current = await this.#collection.findOne({ _id: id });
      if (!current) {
        const expiresAt = new Date(now + this.settings.accountWindowSeconds * 1000);
        if (await this.#insertedFirst({ _id: id, failures: 1, expiresAt })) return { throttled: false, count: 1, expiresAt };
        continue;
      }
      if (current.failures < ceiling) continue; // it changed between the update and the read
      // The known-address read happens only at the ceiling, which ordinary sign-ins never meet.
      if (!(await this.#isKnownAddress(subject, ip))) {
        return { throttled: true, reason: 'ceiling', retryAfterMs: Math.max(0, (current.expiresAt?.getTime() ?? now) - now) };
      }
      const beyond = await this.#collection.updateOne({ _id: id }, { $inc: { failures: 1 } });
      if (beyond) return { throttled: false, count: beyond.failures, expiresAt: beyond.expiresAt };
    }
    return { throttled: true, reason: 'ceiling', retryAfterMs: this.settings.backoffBaseMs };
  }

  async #reservePairSlot(
    subject: string,
    ip: string,
    now: number,
  ): Promise<(Throttled & { held: boolean }) | { throttled: false; count: number; generation: string | undefined; heldUntil: Date | undefined }> {
    const id = this.#pairId(subject, ip);
    const free = this.settings.freeFailures;
    const expiresAt = this.#forgetPairAfter(now);
    const heldUntil = new Date(now + (this.settings.checkHoldMs ?? DEFAULT_CHECK_HOLD_MS));
    const over = { $lte: new Date(now) };
    // Neither backed off nor held by an attempt being checked.
    const open = { blockedUntil: over, heldUntil: over };
    for (let round = 0; round < RESERVATION_ROUNDS; round += 1) {
      // Within the free failures: no hold, the next attempt may go on whatever this one's outcome.
      const freeSlot =
        free > 0 ? await this.#collection.updateOne({ _id: id, failures: { $lt: free }, ...open }, { $inc: { failures: 1 }, $set: { expiresAt } }) : null;
      if (freeSlot) return { throttled: false, count: freeSlot.failures, generation: freeSlot.generation, heldUntil: undefined };
      // Past them: if this one fails the pair backs off, so nothing else goes on until it is settled.
      const heldSlot = await this.#collection.updateOne({ _id: id, failures: { $gte: free }, ...open }, { $inc: { failures: 1 }, $set: { expiresAt, heldUntil } });
      if (heldSlot) return { throttled: false, count: heldSlot.failures, generation: heldSlot.generation, heldUntil };
      const current = await this.#collection.findOne({ _id: id });
      if (!current) {
        const generation = randomUUID();
        const holding = free === 0 ? heldUntil : undefined;
        if (await this.#insertedFirst({ _id: id, failures: 1, blockedUntil: NOT_BLOCKED, heldUntil: holding ?? NOT_HELD, generation, expiresAt })) {
          return { throttled: false, count: 1, generation, heldUntil: holding };
        }
        continue;
      }
      if (current.blockedUntil === undefined || current.heldUntil === undefined) {
        await this.#addMissingFields(current);
        continue;
      }
      const refusal = this.#refusal(current, now);
      if (refusal) return refusal;
    }
    // The pair changed under every round (attempts of it coming and going): no backoff was seen, so the caller
    // waits and looks again, as for an attempt being checked, rather than refuse a right password.
    return { throttled: true, reason: 'backoff', retryAfterMs: this.settings.backoffBaseMs, held: true };
  }

  /** Why a pair the reservation updates did not match refuses the attempt; undefined when it is open (it changed since). */
  #refusal(pair: PairDocument, now: number): (Throttled & { held: boolean }) | undefined {
    // A backoff refuses at once, even while an attempt is also being checked: it was earned whatever that one's outcome.
    const backoffEnds = backoffEnd(pair);
    if (backoffEnds > now) return { throttled: true, reason: 'backoff', retryAfterMs: backoffEnds - now, held: false };
    const holdEnds = holdEnd(pair);
    if (holdEnds > now) return { throttled: true, reason: 'backoff', retryAfterMs: holdEnds - now, held: true };
    return undefined;
  }

  /**
   * Gives a document written by an older version the fields the reservations match on: `blockedUntil` (missing
   * before reservations existed) and `heldUntil` (missing before holds had a field of their own). Each only where
   * it is still missing, so a value written meanwhile stays.
   */
  async #addMissingFields(pair: PairDocument): Promise<void> {
    if (pair.blockedUntil === undefined) {
      await this.#collection.updateOne({ _id: pair._id, blockedUntil: { $exists: false } }, { $set: { blockedUntil: NOT_BLOCKED } });
    }
    if (pair.heldUntil === undefined) {
      await this.#collection.updateOne({ _id: pair._id, heldUntil: { $exists: false } }, { $set: { heldUntil: NOT_HELD } });
    }
  }

  /** Inserts a first counter document; false when another request inserted it first. */
  async #insertedFirst(document: PairDocument & AccountWindowDocument): Promise<boolean> {
    try {
      await this.#collection.insert(document);
      return true;
    } catch (error) {
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }

  /**
   * Runs the check of a reserved attempt (its password or code). If the check throws, the attempt was not
   * checked: its reservation is given back, so an error never counts as a failure, nor leaves the pair held
   * (that address's right passwords would wait, then be refused, until the hold ended). Best effort: the store
   * may be what failed, and the error the caller gets is the check's.
   */
  async checkReserved<T>(ticket: AttemptTicket, check: () => Promise<T>): Promise<T> {
    try {
      return await check();
    } catch (error) {
      await this.release(ticket).catch(() => undefined);
      throw error;
    }
  }

  /** The attempt was not a failure after all (or was not checked): its reservation is given back. */
  async release(ticket: AttemptTicket): Promise<void> {
    await this.#releasePairSlot(ticket);
    await this.#releaseWindowSlot(ticket.subject, ticket.windowExpiresAt);
  }

  async #releasePairSlot(ticket: Pick<AttemptTicket, 'subject' | 'ip' | 'pairGeneration' | 'heldUntil'>): Promise<void> {
    const thisPair = this.#pairOf(ticket);
    // Ends only the hold this attempt set (one set since, after it outlived checkHoldMs, stays), and never a
    // backoff: those are in blockedUntil, whoever earned them. A pair a success reset (or one that expired)
    // no longer holds this reservation: nothing to give back.
    if (ticket.heldUntil && (await this.#collection.updateOne({ ...thisPair, heldUntil: ticket.heldUntil }, { $inc: { failures: -1 }, $set: { heldUntil: NOT_HELD } }))) {
      return;
    }
    await this.#collection.updateOne(thisPair, { $inc: { failures: -1 } });
  }

  async #releaseWindowSlot(subject: string, windowExpiresAt: Date | undefined): Promise<void> {
    // Matched by its end, so a window that expired and started anew is not decremented for an old attempt.
    await this.#collection.updateOne({ _id: this.#accountId(subject), ...(windowExpiresAt ? { expiresAt: windowExpiresAt } : {}) }, { $inc: { failures: -1 } });
  }

  /** Settles a reserved attempt as a failed password or second factor: it stays counted, and may back the pair off. */
  async recordFailure(ticket: AttemptTicket): Promise<FailureOutcome> {
    await this.#settlePairFailure(ticket);
    if (ticket.windowCount < this.settings.accountCeiling) return { ceilingReached: false };
    // Only the one caller that flips the flag reports the ceiling, however many race here.
    // Judged again now, by the window's settled count, not only by the count this attempt was reserved at.
    const flipped = await this.#collection.updateOne(
      { _id: this.#accountId(ticket.subject), ceilingNotified: { $exists: false }, failures: { $gte: this.settings.accountCeiling } },
      { $set: { ceilingNotified: true } },
    );
    return { ceilingReached: flipped !== null };
  }

  async #settlePairFailure(ticket: AttemptTicket): Promise<void> {
    const now = Date.now();
    const expiresAt = this.#forgetPairAfter(now);
    const backoffUntil = ticket.pairCount > this.settings.freeFailures ? new Date(now + this.#backoffMs(ticket.pairCount)) : undefined;
    if (await this.#settleInPair(this.#pairOf(ticket), ticket.heldUntil, backoffUntil, expiresAt)) return;
    await this.#countAfterSuccess(this.#pairId(ticket.subject, ticket.ip), now, expiresAt);
  }

  /** The pair document a ticket was reserved in, and not one a success (or expiry) started since. */
  #pairOf(ticket: Pick<AttemptTicket, 'subject' | 'ip' | 'pairGeneration'>): Filter {
    return { _id: this.#pairId(ticket.subject, ticket.ip), generation: ticket.pairGeneration ?? { $exists: false } };
  }

  /**
   * Settles a failure in the pair it was reserved in: the backoff it earned written (only ever lengthening one)
   * and its hold ended. False when that pair is gone.
   */
  async #settleInPair(thisPair: Filter, heldUntil: Date | undefined, backoffUntil: Date | undefined, expiresAt: Date): Promise<boolean> {
    const ownHold: Filter = heldUntil ? { heldUntil } : {};
    const endHold = heldUntil ? { heldUntil: NOT_HELD } : {};
    const lengthens: Filter = backoffUntil ? { blockedUntil: { $lt: backoffUntil } } : {};
    // A backoff written ends what a previous version's `checking` said: blockedUntil is no hold any more.
    const backoff: Update = backoffUntil ? { $set: { blockedUntil: backoffUntil }, $unset: ['checking'] } : {};
    // Usually one update: the backoff and the end of the hold at once, so the pair is never open between them.
    const settled = await this.#collection.updateOne({ ...thisPair, ...ownHold, ...lengthens }, { ...backoff, $set: { ...backoff.$set, expiresAt, ...endHold } });
    if (settled) return true;
    // Else a longer backoff is there already, the hold is no longer this attempt's (it outlived checkHoldMs), or
    // the pair is gone. The backoff before the end of the hold here too.
    if (!(await this.#collection.updateOne(thisPair, { $set: { expiresAt } }))) return false;
    if (backoffUntil) await this.#collection.updateOne({ ...thisPair, ...lengthens }, backoff);
    if (heldUntil) await this.#collection.updateOne({ ...thisPair, ...ownHold }, { $set: endHold });
    return true;
  }

  /**
   * A success ended the pair an attempt was reserved in (or it expired): it counts as a failure after that
   * success, as it would have sequentially, so in-flight guesses do not escape the next count.
   */
  async #countAfterSuccess(id: string, now: number, expiresAt: Date): Promise<void> {
    for (let round = 0; round < RESERVATION_ROUNDS; round += 1) {
      const counted = await this.#collection.updateOne({ _id: id }, { $inc: { failures: 1 }, $set: { expiresAt } });
      if (!counted) {
        const blockedUntil = this.settings.freeFailures === 0 ? new Date(now + this.#backoffMs(1)) : NOT_BLOCKED;
        if (await this.#insertedFirst({ _id: id, failures: 1, blockedUntil, heldUntil: NOT_HELD, generation: randomUUID(), expiresAt })) return;
        continue;
      }
      if (counted.failures > this.settings.freeFailures) {
        const blockedUntil = new Date(now + this.#backoffMs(counted.failures));
        // Only ever lengthens a backoff. A hold has a field of its own, so whatever becomes of an attempt holding
        // the pair now (a right password gives its hold back), this backoff stays.
        await this.#collection.updateOne({ _id: id, blockedUntil: { $lt: blockedUntil } }, { $set: { blockedUntil }, $unset: ['checking'] });
      }
      return;
    }
  }

  /**
   * A full sign-in succeeded from this address: its backoff is forgotten (the account window is not), and
   * the address is known to the account for the known-address period.
   */
  async recordSuccess(subject: string, ip: string): Promise<void> {
    // Reset, not deleted: the next attempt then reserves with one update, where re-creating the document took
    // two updates, a read and an insert. A new generation, so reservations made before this success give nothing
    // back to the fresh count, and those that fail count against it (see #countAfterSuccess).
    await this.#collection.updateOne(
      { _id: this.#pairId(subject, ip) },
      { $set: { failures: 0, blockedUntil: NOT_BLOCKED, heldUntil: NOT_HELD, generation: randomUUID() }, $unset: ['checking'] },
    );
    if (this.settings.knownAddressDays === 0) return;
    // Concurrent first sign-ins from a new address may race to insert its record.
    await upsertById(this.#collection, this.#knownAddressId(subject, ip), {
      $set: { expiresAt: new Date(Date.now() + this.settings.knownAddressDays * 86400 * 1000) },
    });
  }
}
