/**
 * Work a request starts and does not wait for: what must not show in the answer's timing (a sign-up's
 * records and mail, a password-reset link) runs after the answer went out. A shutdown lets it finish before
 * the store closes, as it lets requests in flight finish; otherwise a SIGTERM right after "check your email"
 * left an account without its email.
 */
export class AfterAnswerWork {
  readonly #pending = new Set<Promise<void>>();

  /** Keeps track of `work` until it settles; a failure goes to `onFailure` (no request awaits the work). */
  track(work: Promise<unknown>, onFailure: (error: unknown) => void): void {
    const tracked = work.then(
      () => undefined,
      (error: unknown) => onFailure(error),
    );
    this.#pending.add(tracked);
    const forget = () => {
      this.#pending.delete(tracked);
    };
    tracked.then(forget, forget);
  }

  /** Resolves once every piece of work tracked so far, and any started meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
