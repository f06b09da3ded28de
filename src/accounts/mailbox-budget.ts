import { FixedWindowRateLimiter } from '../http/rate-limit.js';
import type { Store } from '../store/index.js';
import { canonicalMailbox } from './email-address.js';

/**
 * Emails a stranger can have sent to an address by typing it into one of our forms: the per-IP limits alone
 * let many IPs flood a mailbox. Each form has its own budget (a stranger spending the sign-up budget must not
 * stop the owner's password reset), spent on every request that names the address, whether it has an
 * account or not (spending only for accounts would let the budget tell which addresses have one).
 */
export class MailboxBudget {
  readonly #limiter: FixedWindowRateLimiter;

  constructor(store: Store, purpose: string, perWindow: number, windowSeconds: number) {
    this.#limiter = new FixedWindowRateLimiter(store, `emails-to:${purpose}`, perWindow, windowSeconds);
  }

  /** Spends one email to this address; false once the window's budget is spent (then send nothing). */
  async spend(email: string): Promise<boolean> {
    return (await this.#limiter.consume(canonicalMailbox(email))).allowed;
  }
}
