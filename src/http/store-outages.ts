import { performance } from 'node:perf_hooks';

/**
 * When the store last reported the database unreachable, so a request that failed during an outage can be
 * answered 503 temporarily_unavailable (oidc-provider would answer 500 server_error). A timestamp compared
 * with the request's start, rather than a per-request record carried in AsyncLocalStorage: the outage
 * belongs to the database, not to one request, and the context switch cost every request on the hot path.
 */
export class StoreOutages {
  #lastAt = Number.NEGATIVE_INFINITY;

  /** Called by the store when the database cannot be reached. */
  note(): void {
    this.#lastAt = performance.now();
  }

  /** True when the database was reported unreachable at or after `startedAt` (a performance.now() reading). */
  since(startedAt: number): boolean {
    return this.#lastAt >= startedAt;
  }
}
