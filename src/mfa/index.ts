import type { Account, AccountService } from '../accounts/index.js';
import type { Config } from '../config/index.js';
import { FixedWindowRateLimiter } from '../http/rate-limit.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import type { DeliveryChannel } from './delivery/channel.js';
import { EmailChannel } from './delivery/email.js';
import { securityNotifier, type SecurityNotify } from './delivery/security-notice.js';
import { WebhookChannel } from './delivery/webhook.js';
import { EMAIL_CODES_COLLECTION, EmailCodes } from './email-codes.js';
import { MFA_TOKENS_COLLECTION, MfaTokens } from './mfa-tokens.js';
import { RecoveryCodes, type RecoveryCodeSet } from './recovery-codes.js';
import { MFA_FACTORS_COLLECTION, TotpFactor, type MfaFactorsDocument, type TotpClock, type TotpEnrollment } from './totp.js';

export type { DeliveryChannel, DeliveryMessage } from './delivery/channel.js';
export { EmailChannel } from './delivery/email.js';
export { securityNotifier, type NoticeRecipient, type SecurityNotify } from './delivery/security-notice.js';
export { recoveryCodesFile, RECOVERY_CODES_FILE_NAME, totpEnrollmentDisplay, type TotpEnrollmentDisplay } from './enrollment-display.js';
export { signWebhookBody, WebhookChannel, WEBHOOK_SIGNATURE_HEADER } from './delivery/webhook.js';
export { MfaTokens, MFA_TOKENS_COLLECTION, type MfaTokenContext } from './mfa-tokens.js';
export { RECOVERY_CODE_COUNT, type RecoveryCodeSet } from './recovery-codes.js';
export { TOTP_PERIOD_SECONDS, type TotpClock, type TotpEnrollment } from './totp.js';

/** Second-factor methods, as listed in `mfa_methods`. */
export type MfaMethod = 'totp' | 'email' | 'recovery_code';

/** Who the factor belongs to: enough to address an email and label an authenticator entry. */
export interface MfaSubject {
  customerId: string;
  email: string;
}

/** What the user typed: an `otp` (authenticator or emailed code) or a recovery code. */
export interface SecondFactorInput {
  otp?: string;
  recoveryCode?: string;
  /** Try the otp only as this kind of code (pages where the user picked a method); default: both. */
  method?: 'totp' | 'email';
}

/** A refusal says when the code was the emailed one a newer email replaced (see EmailCodes.verify). */
export type SecondFactorResult = { ok: true; method: MfaMethod } | { ok: false; supersededEmailCode?: true };

export type GuardedSecondFactorResult =
  | { ok: true; method: MfaMethod }
  | { ok: false; reason: 'throttled'; ceilingReached: boolean }
  | { ok: false; reason: 'wrong_code'; ceilingReached: boolean; supersededEmailCode?: true };

/** The part of the account service the second factor shares: the sign-in throttle. */
export type SignInThrottlePort = Pick<AccountService, 'reserveAttempt' | 'checkReservedAttempt' | 'releaseAttempt' | 'recordFailure' | 'recordSignInSuccess'>;

export type EmailCodeOutcome =
  | { sent: true }
  | { sent: false; reason: 'cooldown'; retryAfterSeconds: number }
  /** The account's hourly cap on emailed codes is spent (EMAIL_CODE_MAX_PER_HOUR); codes already sent still work. */
  | { sent: false; reason: 'hourly_cap'; retryAfterSeconds: number }
  /** Email codes are not a second factor of this account now (none, or distrusted after a reset). */
  | { sent: false; reason: 'not_a_method' }
  /** Mail is off, or the code could not be delivered. */
  | { sent: false; reason: 'unavailable' };

/** RFC 8176 `amr` for a password plus a verified second factor; all our factors are one-time codes. */
export const AMR_PASSWORD_AND_SECOND_FACTOR = ['pwd', 'otp', 'mfa'];
export const AMR_PASSWORD_ONLY = ['pwd'];
/** `acr` values: a password alone, or with a second factor (what `acr_values` asks for to force MFA). */
export const ACR_PASSWORD = 'urn:authtoken:acr:pwd';
export const ACR_MFA = 'urn:authtoken:acr:mfa';

/**
 * The second factor, for the password grant, the login pages and the dashboard: which methods an account
 * has, verification of any of them, email codes, TOTP enrollment, recovery codes and mfa_tokens.
 */
export class MfaService {
  readonly totp: TotpFactor;
  readonly emailCodes: EmailCodes;
  readonly recoveryCodes: RecoveryCodes;
  readonly tokens: MfaTokens;
  readonly #emailEnabled: boolean;
  readonly #emailCodeBudget: FixedWindowRateLimiter;
  #onDeliveryFailure: (error: unknown) => void = () => undefined;
  #onFirstFactor: (accountId: string) => Promise<void> = async () => undefined;
  readonly #notify: SecurityNotify;

  constructor(
    private readonly store: Store,
    secrets: ServerSecrets,
    config: Config,
    private readonly channel: DeliveryChannel,
    private readonly throttle: SignInThrottlePort,
  ) {
    this.totp = new TotpFactor(store, secrets, config.mfa.totpIssuer);
    this.emailCodes = new EmailCodes(store, secrets, {
      ttlSeconds: config.mfa.emailCodeTtlSeconds,
      maxAttempts: config.mfa.emailCodeMaxAttempts,
      resendCooldownSeconds: config.mfa.emailCodeResendCooldownSeconds,
    });
    this.recoveryCodes = new RecoveryCodes(store, secrets);
    this.tokens = new MfaTokens(store, secrets, { ttlSeconds: config.mfa.mfaTokenTtlSeconds, maxAttempts: config.mfa.mfaTokenMaxAttempts });
    this.#emailEnabled = config.mfa.emailEnabled;
    // The listener is read at each failure: onDeliveryFailure may set it after construction.
    this.#notify = securityNotifier(channel, (error) => this.#onDeliveryFailure(error));
    // Keyed by account id (an identifier, not a credential); counted in the store, so every instance shares it.
    this.#emailCodeBudget = new FixedWindowRateLimiter(store, 'email-codes-to-account', config.mfa.emailCodeMaxPerHour, 3600);
  }

  /** The channel MFA_DELIVERY names: email (SMTP_URL, MAIL_FROM, MAIL_DEV_DIRECTORY) or a signed webhook. */
  static deliveryChannelFromConfig(config: Config): DeliveryChannel {
    if (config.delivery.channel === 'webhook') return new WebhookChannel(config.delivery);
    return new EmailChannel({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, devDirectory: config.mail.devDirectory });
  }

  async ensureIndexes(): Promise<void> {
    await this.recoveryCodes.ensureIndexes();
    // Registered for expiry (TTL index, or the sweeper where TTL indexes are refused).
    // accountId: a password change or a disabled account ends the account's live tokens (MfaTokens.endAllOf).
    await this.store.ensureIndexes(MFA_TOKENS_COLLECTION, [{ fields: { accountId: 1 } }]);
    await this.store.ensureIndexes(EMAIL_CODES_COLLECTION, []);
  }

  /** Where delivery failures are reported (the app logs them, without the message body). */
  onDeliveryFailure(listener: (error: unknown) => void): void {
    this.#onDeliveryFailure = listener;
  }

  /**
   * Called once an account without a second factor has one: everything it holds was issued to a password-only
   * sign-in, which the account's policy (secondFactorNeeded) no longer accepts.
   */
  onFirstFactor(listener: (accountId: string) => Promise<void>): void {
    this.#onFirstFactor = listener;
  }

  get #factorsCollection() {
    return this.store.collection<MfaFactorsDocument>(MFA_FACTORS_COLLECTION);
  }

  async #factors(accountId: string): Promise<MfaFactorsDocument | null> {
    return this.#factorsCollection.findOne({ _id: accountId });
  }

  /** The account's usable methods; empty when it has no second factor. */
  async methodsFor(accountId: string): Promise<MfaMethod[]> {
    return (await this.#methodsAndFactors(accountId)).methods;
  }

  async #methodsAndFactors(accountId: string): Promise<{ methods: MfaMethod[]; factors: MfaFactorsDocument | null }> {
    const [factors, recoveryLeft] = await Promise.all([this.#factors(accountId), this.recoveryCodes.remaining(accountId)]);
    const hasTotp = factors?.totpSealedSecret !== undefined;
    if (!hasTotp && !factors?.emailFactor) return { methods: [], factors };
    const hasOtherFactor = hasTotp || recoveryLeft > 0;
    // Distrust only drops email beside another factor: an email-only account must never end up with none.
    const emailCounts = this.#emailEnabled && !(factors?.emailDistrustedSince !== undefined && hasOtherFactor);
    const methods: MfaMethod[] = [];
    if (hasTotp) methods.push('totp');
    if (emailCounts) methods.push('email');
    if (recoveryLeft > 0) methods.push('recovery_code');
    return { methods, factors };
  }

  /**
   * After a password reset through an emailed link, whoever reset it may hold nothing but the mailbox: an
   * emailed code must not then be the second factor too, or the mailbox alone would open an account
   * protected by an authenticator app. Emailed codes stop counting, while the account has another factor,
   * until that factor (authenticator or recovery code) is used.
   */
  async distrustMailboxFactor(accountId: string): Promise<void> {
    // No upsert: an account without a factors document has no second factor to protect.
    await this.#factorsCollection.updateOne({ _id: accountId }, { $set: { emailDistrustedSince: new Date() } });
  }

  /** True when a token may be issued to this account only after a second factor. */
  async isEnrolled(accountId: string): Promise<boolean> {
    return (await this.methodsFor(accountId)).length > 0;
  }

  /**
   * Verifies whatever the user typed against the account's methods: an `otp` is tried as an
   * authenticator code, then as an emailed code; a recovery code is spent when it matches.
   */
  async verifySecondFactor(accountId: string, input: SecondFactorInput, clock: TotpClock = {}): Promise<SecondFactorResult> {
    const { methods, factors } = await this.#methodsAndFactors(accountId);
    if (input.recoveryCode !== undefined) {
      if (!methods.includes('recovery_code') || !(await this.recoveryCodes.consume(accountId, input.recoveryCode))) return { ok: false };
      await this.#trustMailboxAgain(accountId, factors);
      return { ok: true, method: 'recovery_code' };
    }
    const otp = input.otp?.trim() ?? '';
    const tryTotp = methods.includes('totp') && input.method !== 'email';
    const tryEmail = methods.includes('email') && input.method !== 'totp';
    if (tryTotp && (await this.totp.verify(accountId, otp, clock))) {
      await this.#trustMailboxAgain(accountId, factors);
      return { ok: true, method: 'totp' };
    }
    const emailCheck = tryEmail ? await this.emailCodes.verify(accountId, otp) : 'refused';
    if (emailCheck === 'accepted') return { ok: true, method: 'email' };
    return emailCheck === 'superseded' ? { ok: false, supersededEmailCode: true } : { ok: false };
  }

  /** A factor other than the mailbox was just used: the person holds more than the mailbox again. */
  async #trustMailboxAgain(accountId: string, factors: MfaFactorsDocument | null): Promise<void> {
    if (factors?.emailDistrustedSince === undefined) return;
    await this.#factorsCollection.updateOne({ _id: accountId }, { $unset: ['emailDistrustedSince'] });
  }

  /**
   * verifySecondFactor behind the sign-in throttle, as the password grant and the login pages use it:
   * refused while the (account, IP) pair or the account is throttled, a wrong code counted as a failure,
   * a success clearing the pair's backoff. The attempt is reserved before the code is checked, so
   * concurrent codes count like sequential ones. Callers answer `throttled` exactly like `wrong_code`.
   */
  async verifySecondFactorGuarded(account: Account, input: SecondFactorInput, ip: string, clock: TotpClock = {}): Promise<GuardedSecondFactorResult> {
    const reservation = await this.throttle.reserveAttempt(account, ip);
    if (reservation.throttled) return { ok: false, reason: 'throttled', ceilingReached: false };
    const result = await this.throttle.checkReservedAttempt(reservation.ticket, () => this.verifySecondFactor(account.customerId, input, clock));
    if (!result.ok) {
      const { ceilingReached } = await this.throttle.recordFailure(reservation.ticket, account);
      return { ok: false, reason: 'wrong_code', ceilingReached, ...(result.supersededEmailCode ? { supersededEmailCode: true } : {}) };
    }
    await this.throttle.releaseAttempt(reservation.ticket);
    await this.throttle.recordSignInSuccess(account, ip);
    return result;
  }

  /**
   * Emails a fresh code, unless one went out within the cooldown or the account's hourly cap is spent. The cap
   * is reserved before the code is made: a refused request must not replace the code already in the mailbox,
   * and concurrent requests get no more than the cap between them. A request that ends up sending nothing
   * (cooldown, undelivered) gives its reservation back, so the cap counts emails, not clicks.
   */
  async sendEmailCode(subject: MfaSubject): Promise<EmailCodeOutcome> {
    if (!this.#emailEnabled) return { sent: false, reason: 'unavailable' };
    // A code that could not be accepted is never sent: it would only teach the mailbox's holder to try it.
    if (!(await this.methodsFor(subject.customerId)).includes('email')) return { sent: false, reason: 'not_a_method' };
    const reservation = await this.#emailCodeBudget.reserve(subject.customerId);
    if (!reservation.allowed) return { sent: false, reason: 'hourly_cap', retryAfterSeconds: reservation.retryAfterSeconds };
    const outcome = await this.emailCodes.issue(subject.customerId).catch(async (error: unknown) => {
      await reservation.giveBack().catch(() => undefined);
      throw error;
    });
    if (!outcome.issued) {
      await reservation.giveBack();
      return { sent: false, reason: 'cooldown', retryAfterSeconds: outcome.retryAfterSeconds };
    }
    try {
      await this.channel.deliver({
        accountId: subject.customerId,
        email: subject.email,
        purpose: 'mfa-code',
        subject: 'Your sign-in code',
        text: `Your sign-in code is ${outcome.code}\n\nIt expires in a few minutes. If you did not try to sign in, change your password.\n`,
      });
    } catch (error) {
      // Undelivered: withdraw the code, so the cooldown does not stop an immediate retry, and nothing reached
      // the mailbox, so the cap is not spent either.
      await this.emailCodes.withdraw(subject.customerId);
      await reservation.giveBack().catch(() => undefined);
      this.#onDeliveryFailure(error);
      return { sent: false, reason: 'unavailable' };
    }
    return { sent: true };
  }

  /**
   * Starts TOTP enrollment: show the URI as a QR code and the secret for manual entry. `startedBy` names who
   * may see and confirm it (e.g. `dashboard:<session id>`): no one else, the account's other sessions included.
   */
  async enrollTotp(subject: MfaSubject, startedBy: string): Promise<TotpEnrollment> {
    return this.totp.enroll(subject.customerId, subject.email, startedBy);
  }

  /** The TOTP enrollment `startedBy` started, waiting for its confirming code (to show the same QR code again). */
  async pendingTotpEnrollment(subject: MfaSubject, startedBy: string): Promise<TotpEnrollment | undefined> {
    return this.totp.pending(subject.customerId, subject.email, startedBy);
  }

  async confirmTotp(accountId: string, code: string, startedBy: string, clock: TotpClock = {}): Promise<boolean> {
    const hadFactor = await this.isEnrolled(accountId);
    if (!(await this.totp.confirm(accountId, code, startedBy, clock))) return false;
    if (!hadFactor) await this.#onFirstFactor(accountId);
    return true;
  }

  async removeTotp(accountId: string): Promise<void> {
    await this.totp.remove(accountId);
  }

  /** Whether email codes are a factor of their own for this account (not only the fallback of TOTP users). */
  async hasEmailFactor(accountId: string): Promise<boolean> {
    return (await this.#factors(accountId))?.emailFactor === true;
  }

  /** Turns email codes on as a factor of their own (for accounts without an authenticator app). */
  async setEmailFactor(accountId: string, enabled: boolean): Promise<void> {
    await this.#factorsCollection.updateOne(
      { _id: accountId },
      enabled ? { $set: { emailFactor: true } } : { $unset: ['emailFactor'] },
      { upsert: enabled },
    );
  }

  /** New recovery codes (the old ones stop working); show them once. */
  async generateRecoveryCodes(accountId: string): Promise<string[]> {
    return this.recoveryCodes.generate(accountId);
  }

  /** generateRecoveryCodes with the set's number: of sets made at once, only the highest-numbered one works. */
  async generateRecoveryCodeSet(accountId: string): Promise<RecoveryCodeSet> {
    return this.recoveryCodes.generateSet(accountId);
  }

  /**
   * Tells the owner an authenticator app was added to their account (NIST SP 800-63B 6.1.2: the subscriber is
   * notified when an authenticator is bound). Never throws: the enrollment is done, and a lost notice must not
   * undo it or fail the page; a failure goes to the delivery-failure listener.
   */
  async notifyAuthenticatorAdded(subject: MfaSubject, where: 'on the dashboard' | 'while signing in'): Promise<void> {
    await this.#notify(
      subject,
      'An authenticator app was added to your account',
      `An authenticator app was set up as the second factor of your AuthToken account, ${where}.\n` +
        'If this was not you, someone knows your password: reset it at once with "Forgot your password?" on the sign-in page.\n',
    );
  }

  /**
   * Tells the owner an operator removed every second factor (the admin API's reset-mfa): the way in when a
   * helpdesk is talked into a reset, so the owner must hear of it whoever asked. Never throws: the reset is done.
   */
  async notifySecondFactorsReset(subject: MfaSubject): Promise<void> {
    await this.#notify(
      subject,
      'The second factors of your account were removed',
      'The second factors of your AuthToken account were removed by an operator (authenticator app and recovery codes),\n' +
        'and every session was signed out. You will set up a new authenticator app at your next sign-in if required.\n' +
        'If you did not ask for this, contact support and change your password at once.\n',
    );
  }

  /** Tells the owner that sign-in attempts hit the ceiling (the account is refusing sign-ins for a while). */
  async notifyCeilingReached(subject: MfaSubject): Promise<void> {
    await this.channel.deliver({
      accountId: subject.customerId,
      email: subject.email,
      purpose: 'security-notice',
      subject: 'Sign-in attempts to your account were blocked',
      text:
        'We saw many failed sign-in attempts to your account and stopped accepting sign-ins for a while,\n' +
        'except from the networks you signed in from recently.\n' +
        'If this was not you, nothing was disclosed; consider changing your password once sign-in works again.\n',
    });
  }

  /** Whether codes and notices can be delivered now (the channel's own check; resolves when it has none). */
  async checkDelivery(): Promise<void> {
    await this.channel.check?.();
  }

  close(): void {
    this.channel.close?.();
  }
}
