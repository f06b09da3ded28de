import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

interface WindowDocument extends StoredDocument {
  hits: number;
}

/** Registers the counters' collection for expiry (TTL index, or the sweeper where TTL indexes are refused). */
export async function ensureRateLimitIndexes(store: Store): Promise<void> {
  await store.ensureIndexes(RATE_LIMITS_COLLECTION, []);
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

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
    const windowMs = this.windowSeconds * 1000;
    const now = Date.now();
    const windowStart = Math.floor(now / windowMs) * windowMs;
    const count = () =>
      this.store.collection<WindowDocument>(RATE_LIMITS_COLLECTION).updateOne(
        { _id: `${this.name}:${key}:${windowStart}` },
        { $inc: { hits: 1 }, $setOnInsert: { expiresAt: new Date(windowStart + windowMs) } },
        { upsert: true },
      );
    // Two first requests of a window may both try to insert; the loser increments the winner's document.
    const document = await count().catch((error: unknown) => {
      if (error instanceof DuplicateKeyError) return count();
      throw error;
    });
    if ((document?.hits ?? 1) <= this.limit) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000)) };
  }
}
