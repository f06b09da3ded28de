import { FixedWindowRateLimiter } from '../http/rate-limit.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { canonicalMailbox } from './email-address.js';

/**
 * Sign-up emails a stranger can have sent to an address by typing it in: the per-IP limits alone let many
 * IPs flood a mailbox. Counted on the mailbox the address most likely ends in (canonicalMailbox) and spent
 * by every sign-up naming it, account or not, so the budget never tells which addresses have accounts. The
 * count is kept under a keyed hash of the mailbox: a typed address is not stored in clear for the window.
 */
export class MailboxBudget {
  readonly #limiter: FixedWindowRateLimiter;

  constructor(
    store: Store,
    private readonly secrets: ServerSecrets,
    purpose: string,
    perWindow: number,
    windowSeconds: number,
  ) {
    this.#limiter = new FixedWindowRateLimiter(store, `emails-to:${purpose}`, perWindow, windowSeconds);
  }

  /** Spends one email to this address's mailbox; false once the window's budget is spent (then send nothing). */
  async spend(email: string): Promise<boolean> {
    return (await this.#limiter.consume(this.secrets.keyedHash('token-hash', `mailbox:${canonicalMailbox(email)}`))).allowed;
  }
}
