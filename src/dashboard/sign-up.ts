import { checkPasswordPolicy, EmailedLinks, EmailTakenError, PasswordPolicyError, type Account, type AccountService } from '../accounts/index.js';
import type { DeliveryChannel } from '../mfa/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';

export const EMAIL_VERIFICATIONS_COLLECTION = 'email_verifications';
export const SIGN_UP_PATH = '/dashboard/signup';
export const VERIFY_EMAIL_PATH = '/dashboard/verify-email';

/** What happened, for the audit log only: the person is always told the same thing. */
export type SignUpOutcome = { kind: 'created'; account: Account } | { kind: 'pending_again'; account: Account } | { kind: 'already_registered'; account: Account };

export interface SignUpSettings {
  issuer: string;
  /** How long an emailed verification link works. */
  linkTtlSeconds: number;
}

/**
 * Self-service sign-up with email verification. The account is created `unverified` (no sign-in, no token
 * anywhere: every path requires `active`) and becomes `active` when the emailed single-use link is
 * confirmed; the link's token is stored only as a keyed hash and expires. Signing up with an address that
 * already has an account changes nothing and emails its owner instead, so the answer never reveals which
 * addresses have accounts.
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
  ) {
    this.#links = new EmailedLinks(store, secrets, { collection: EMAIL_VERIFICATIONS_COLLECTION, purpose: 'email-verification', ttlSeconds: settings.linkTtlSeconds });
  }

  async ensureIndexes(): Promise<void> {
    await this.#links.ensureIndexes();
  }

  /** Registers the address (throws PasswordPolicyError first, whatever the address) and sends the right email. */
  async signUp(email: string, password: string): Promise<SignUpOutcome> {
    const problem = checkPasswordPolicy(password);
    if (problem) throw new PasswordPolicyError(problem);
    const existing = await this.accounts.findByEmail(email);
    if (existing === undefined) {
      try {
        const account = await this.accounts.create({ email, password, status: 'unverified' });
        await this.#sendVerificationLink(account);
        return { kind: 'created', account };
      } catch (error) {
        if (!(error instanceof EmailTakenError)) throw error;
        // Another sign-up for the same address won the race: answer as for an existing account.
        const winner = await this.accounts.findByEmail(email);
        if (!winner) throw error;
        return this.#alreadyRegistered(winner, password);
      }
    }
    if (existing.status === 'unverified') {
      // Nobody has proven this address yet: the latest sign-up sets the password and gets the only live link
      // (earlier links die), which also serves a person whose first link expired or got lost.
      await this.accounts.changePassword(existing.customerId, password);
      await this.#sendVerificationLink(existing);
      return { kind: 'pending_again', account: existing };
    }
    return this.#alreadyRegistered(existing, password);
  }

  async #alreadyRegistered(account: Account, password: string): Promise<SignUpOutcome> {
    // As long as creating an account would take, so timing does not tell the cases apart either.
    await this.accounts.spendPasswordHashingTime(password);
    await this.#deliver(
      account,
      'You already have an AuthToken account',
      `Someone (hopefully you) tried to create an AuthToken account with this address, which already has one.\n\n` +
        `Nothing was changed. Sign in at ${this.settings.issuer}/dashboard, or use "Forgot your password?" there.\n` +
        `If it was not you, you can ignore this message.\n`,
    );
    return { kind: 'already_registered', account };
  }

  async #sendVerificationLink(account: Account): Promise<void> {
    const token = await this.#links.issue(account.customerId);
    const hours = Math.max(1, Math.round(this.settings.linkTtlSeconds / 3600));
    await this.#deliver(
      account,
      'Confirm your email address',
      `Welcome to AuthToken. Open this link to confirm your email address and activate your account\n` +
        `(it works once, for ${hours} hour${hours === 1 ? '' : 's'}):\n` +
        `${this.settings.issuer}${VERIFY_EMAIL_PATH}?token=${token}\n\n` +
        `If you did not sign up, ignore this message: the account stays inactive.\n`,
    );
  }

  async #deliver(account: Account, subject: string, text: string): Promise<void> {
    try {
      await this.channel.deliver({ accountId: account.customerId, email: account.email, purpose: 'security-notice', subject, text });
    } catch (error) {
      this.onDeliveryFailure(error);
    }
  }

  /** Whether a link is live (to show its confirmation page); it is not spent. */
  async isPending(token: string): Promise<boolean> {
    return this.#links.isLive(token);
  }

  /** Spends the link and activates its account; the account id, or undefined for a dead link. */
  async verify(token: string): Promise<string | undefined> {
    // Single use: of two concurrent confirmations, one claims the link.
    const accountId = await this.#links.claim(token);
    if (!accountId) return undefined;
    await this.#links.endAllOf(accountId);
    return (await this.accounts.activateVerified(accountId)) ? accountId : undefined;
  }
}
