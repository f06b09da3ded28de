import { upsertById, type Store, type StoredDocument } from '../store/index.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

interface WindowDocument extends StoredDocument {
  hits: number;
}

/** Registers the counters' collection for expiry (TTL index, or the sweeper where TTL indexes are refused). */
export async function ensureRateLimitIndexes(store: Store): Promise<void> {
  await store.ensureIndexes(RATE_LIMITS_COLLECTION, []);
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** An allowed reservation can be given back (the thing it was for did not happen); see `reserve`. */
export type BudgetReservation = { allowed: true; giveBack(): Promise<void> } | { allowed: false; retryAfterSeconds: number };

/**
 * Fixed-window request counters in the Store, so every instance counts against the same budget.
 *
 * Why not rate-limiter-flexible (installed): its stores are tied to specific clients (a raw MongoDB
 * collection, Redis, process memory), so it would bypass our Store, keep separate state per instance in
 * memory mode, and need its own expiry handling on FerretDB (no TTL indexes). One atomic upserted $inc per
 * request on a document named after the window does the same job on both stores.
 * The fixed window lets a burst of up to twice the limit straddle a boundary; for brute-force protection
 * that is fine (the per-account throttle is the real limit on guessing).
 */
export class FixedWindowRateLimiter {
  constructor(
    private readonly store: Store,
    /** The budget this limiter counts (e.g. `password-grant`), part of every key. */
    private readonly name: string,
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  /** Counts one request for the key (a client IP); refuses once the window's budget is spent. */
  async consume(key: string): Promise<RateLimitDecision> {
    if (this.limit <= 0) return { allowed: true };
    const counted = await this.#count(key);
    if (counted.hits <= this.limit) return { allowed: true };
    return { allowed: false, retryAfterSeconds: counted.retryAfterSeconds };
  }

  /**
   * For a budget of things done rather than of requests (emails sent): like consume, but a refused request
   * gives its count back (asking again must not use up the budget of the next thing done), and an allowed one
   * is given back by the caller when the thing was not done after all. Concurrent reservations never admit
   * more than the limit: each is counted by the one atomic $inc before it is judged, and a give-back only
   * lowers a count that already included it, so a count read meanwhile can only be too high, never too low.
   */
  async reserve(key: string): Promise<BudgetReservation> {
    if (this.limit <= 0) return { allowed: true, giveBack: async () => undefined };
    const counted = await this.#count(key);
    const giveBack = async (): Promise<void> => {
      // The window's own document: a give-back after the window ended changes nothing (that count has expired).
      await this.#windows.updateOne({ _id: counted.id, hits: { $gt: 0 } }, { $inc: { hits: -1 } });
    };
    if (counted.hits <= this.limit) return { allowed: true, giveBack };
    await giveBack();
    return { allowed: false, retryAfterSeconds: counted.retryAfterSeconds };
  }

  get #windows() {
    return this.store.collection<WindowDocument>(RATE_LIMITS_COLLECTION);
  }

  async #count(key: string): Promise<{ id: string; hits: number; retryAfterSeconds: number }> {
    const windowMs = this.windowSeconds * 1000;
    const now = Date.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const id = `${this.name}:${key}:${windowStart}`;
    const document = await upsertById(this.#windows, id, { $inc: { hits: 1 }, $setOnInsert: { expiresAt: new Date(windowStart + windowMs) } });
    return { id, hits: document?.hits ?? 1, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)) };
  }
}
