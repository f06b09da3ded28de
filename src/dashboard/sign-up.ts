import { EmailedLinks, EmailTakenError, type Account, type AccountService, type MailboxBudget } from '../accounts/index.js';
import type { DeliveryChannel } from '../mfa/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';

export const EMAIL_VERIFICATIONS_COLLECTION = 'email_verifications';
export const SIGN_UP_PATH = '/dashboard/signup';
export const VERIFY_EMAIL_PATH = '/dashboard/verify-email';

/**
 * What happened, for the audit log only: the person is always told the same thing. `emailed` is false when
 * the address's email budget was spent, so no link or notice went out (and no link was made).
 */
export type SignUpOutcome = { kind: 'created' | 'pending_again' | 'already_registered'; account: Account; emailed: boolean };

export interface SignUpSettings {
  issuer: string;
  /** How long an emailed verification link works. */
  linkTtlSeconds: number;
}

/**
 * Wrong passwords a confirmation link takes before it stops working: enough for typos, few enough that a
 * link is no way to guess a password or to keep the server hashing (every try is a password-hash check).
 */
export const MAX_WRONG_SIGN_UP_PASSWORDS = 5;

/**
 * The outcome of a confirmation: a dead link; a live one confirmed with a password that is not its
 * sign-up's; or the wrong password that used up the link's tries, which ended it.
 */
export type VerifyOutcome = { ok: true; accountId: string } | { ok: false; reason: 'dead_link' | 'wrong_password' | 'too_many_wrong_passwords' };

/**
 * Self-service sign-up with email verification. The account is created `unverified` and without a password
 * (no sign-in, no token anywhere: every path requires `active`). Each sign-up's password is hashed into its
 * own emailed single-use link, never into the account: confirming a link takes that link's token (proof of
 * the mailbox) and that sign-up's password (proof of being the person who chose it), and only then sets
 * exactly that password and activates the account, in one update. So a stranger who signs up first, or
 * again, with someone else's address cannot choose the password of the account its owner activates: the
 * owner never knows the stranger's password, and the stranger never sees a link. A later sign-up does not
 * end earlier links; confirming one ends them all. Signing up with an address that already has an account
 * changes nothing and emails its owner instead, so the answer never reveals which addresses have accounts.
 */
export class SelfServiceSignUp {
  readonly #links: EmailedLinks;

  constructor(
    store: Store,
    secrets: ServerSecrets,
    private readonly accounts: AccountService,
    private readonly channel: DeliveryChannel,
    private readonly settings: SignUpSettings,
    private readonly onDeliveryFailure: (error: unknown) => void,
    /** Sign-up emails to one address, spent by every sign-up naming it (see MailboxBudget). */
    private readonly mailBudget: MailboxBudget,
  ) {
    this.#links = new EmailedLinks(store, secrets, {
      collection: EMAIL_VERIFICATIONS_COLLECTION,
      purpose: 'email-verification',
      ttlSeconds: settings.linkTtlSeconds,
      keepEarlierLinks: true,
    });
  }

  async ensureIndexes(): Promise<void> {
    await this.#links.ensureIndexes();
  }

  /**
   * The part of a sign-up the answer waits for: the password policy (PasswordPolicyError) and the hash, the
   * same work whatever the address. Everything that differs between addresses is in `register`, which runs
   * after the answer went out, so neither the answer nor its timing tells which addresses have accounts.
   */
  async hashPassword(password: string): Promise<string> {
    return this.accounts.hashNewPassword(password);
  }

  /** Registers the address with a password hashed by `hashPassword` and sends the right email, within the address's budget. */
  async register(email: string, passwordHash: string): Promise<SignUpOutcome> {
    // Spent first, on every path: spending only where mail goes out would let the budget tell the paths apart.
    const withinBudget = await this.mailBudget.spend(email);
    const existing = await this.accounts.findByEmail(email);
    if (existing === undefined) {
      try {
        const account = await this.accounts.createPendingSignUp(email);
        return { kind: 'created', account, emailed: withinBudget && (await this.#sendVerificationLink(account, passwordHash, 'first')) };
      } catch (error) {
        if (!(error instanceof EmailTakenError)) throw error;
        // Another sign-up for the same address won the race: go on as if it had come first.
        const winner = await this.accounts.findByEmail(email);
        if (!winner) throw error;
        return this.#afterEarlierSignUp(winner, passwordHash, withinBudget);
      }
    }
    return this.#afterEarlierSignUp(existing, passwordHash, withinBudget);
  }

  async #afterEarlierSignUp(account: Account, passwordHash: string, withinBudget: boolean): Promise<SignUpOutcome> {
    if (account.status === 'unverified') {
      // Nobody has proven this address yet. This sign-up gets its own link, with its own password; earlier
      // links stay live with theirs. It also serves a person whose first link expired or got lost.
      return { kind: 'pending_again', account, emailed: withinBudget && (await this.#sendVerificationLink(account, passwordHash, 'again')) };
    }
    if (!withinBudget) return { kind: 'already_registered', account, emailed: false };
    const emailed = await this.#deliver(
      account,
      'You already have an AuthToken account',
      `Someone (hopefully you) tried to create an AuthToken account with this address, which already has one.\n\n` +
        `Nothing was changed. Sign in at ${this.settings.issuer}/dashboard, or use "Forgot your password?" there.\n` +
        `If it was not you, you can ignore this message.\n`,
    );
    return { kind: 'already_registered', account, emailed };
  }

  /** Makes a new link and mails it; whether it was handed to the channel. */
  async #sendVerificationLink(account: Account, passwordHash: string, attempt: 'first' | 'again'): Promise<boolean> {
    const token = await this.#links.issue(account.customerId, { passwordHash });
    const hours = Math.max(1, Math.round(this.settings.linkTtlSeconds / 3600));
    const link = `${this.settings.issuer}${VERIFY_EMAIL_PATH}?token=${token}`;
    const lifetime = `it works once, for ${hours} hour${hours === 1 ? '' : 's'}`;
    if (attempt === 'first') {
      return this.#deliver(
        account,
        'Confirm your email address',
        `Welcome to AuthToken. Open this link and enter the password you chose when you signed up, to confirm\n` +
          `your email address and activate your account (${lifetime}):\n${link}\n\n` +
          `If you did not sign up, ignore this message: the account stays inactive.\n`,
      );
    }
    // Said plainly, so a reader who signed up once does not take a stranger's sign-up for their own.
    return this.#deliver(
      account,
      'Confirm your email address (sign-up requested again)',
      `Someone (hopefully you) asked again to create an AuthToken account with this address, which is not\n` +
        `confirmed yet. This link activates the account only together with the password chosen in that\n` +
        `sign-up (${lifetime}):\n${link}\n\n` +
        `Each confirmation email works with the password of its own sign-up; links from earlier sign-ups still\n` +
        `work. If you did not ask for this, ignore this message: nobody can activate the account without\n` +
        `this mailbox.\n`,
    );
  }

  /** Whether the message was handed to the channel. */
  async #deliver(account: Account, subject: string, text: string): Promise<boolean> {
    try {
      await this.channel.deliver({ accountId: account.customerId, email: account.email, purpose: 'security-notice', subject, text });
      return true;
    } catch (error) {
      this.onDeliveryFailure(error);
      return false;
    }
  }

  /**
   * The address a live link was mailed to (its confirmation page names the account for password managers), or
   * undefined when the link is dead; it is not spent.
   */
  async pendingAddress(token: string): Promise<string | undefined> {
    const link = await this.#links.find(token);
    return link === undefined ? undefined : (await this.accounts.findById(link.accountId))?.email;
  }

  /**
   * Confirms a link with the password of its sign-up: spends the link, ends the account's other links and
   * activates the account with that password. A link takes MAX_WRONG_SIGN_UP_PASSWORDS tries, each reserved
   * before its password is checked; a wrong password leaves it live until the last try.
   */
  async verify(token: string, password: string): Promise<VerifyOutcome> {
    const link = await this.#links.reserveTry(token, MAX_WRONG_SIGN_UP_PASSWORDS);
    if (!link) return { ok: false, reason: (await this.#links.isLive(token)) ? 'too_many_wrong_passwords' : 'dead_link' };
    // A link without a password (issued before links carried one) cannot say which password to set.
    if (!link.passwordHash) return { ok: false, reason: 'dead_link' };
    if (!(await this.accounts.passwordMatchesHash(link.passwordHash, password))) {
      if (link.try < MAX_WRONG_SIGN_UP_PASSWORDS) return { ok: false, reason: 'wrong_password' };
      // That was its last try: the link is closed for good.
      await this.#links.end(token);
      return { ok: false, reason: 'too_many_wrong_passwords' };
    }
    // Single use: of two concurrent confirmations, one claims the link.
    const accountId = await this.#links.claim(token);
    if (!accountId) return { ok: false, reason: 'dead_link' };
    await this.#links.endAllOf(accountId);
    // Conditional on `unverified`: of two links confirmed at once, only the first sets its password.
    return (await this.accounts.activateVerified(accountId, link.passwordHash)) ? { ok: true, accountId } : { ok: false, reason: 'dead_link' };
  }
}
