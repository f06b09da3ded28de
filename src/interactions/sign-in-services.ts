import type { RateLimitDecision } from '../http/rate-limit.js';
import type { MfaMethod } from '../mfa/index.js';

export type EmailCodeSending =
  | { sent: true }
  | { sent: false; reason: 'cooldown' | 'hourly_cap'; retryAfterSeconds: number }
  | { sent: false; reason: 'unavailable' };

export type SecondFactorCheck = { ok: true } | { ok: false; supersededEmailCode: boolean };

/** What the login pages need from accounts and MFA; implemented over src/accounts and src/mfa. */
export interface SignInServices {
  /**
   * Counts one password or code submission from this address against the sign-in pages' per-IP budget;
   * call it before looking at the credentials, so the answer cannot depend on the account.
   */
  admitAttempt(ip: string): Promise<RateLimitDecision>;
  /** Checks email/customer id + password with the same throttling as the password grant. */
  verifyPassword(username: string, password: string, ip: string): Promise<{ ok: true; accountId: string } | { ok: false }>;
  /** The second factors this account can use right now (empty: none enrolled). */
  methodsOf(accountId: string): Promise<MfaMethod[]>;
  /**
   * Verifies a code for a method, throttled and counted like the password grant's second factor. A refusal
   * says whether the code was an emailed one a newer email replaced (counted as wrong all the same).
   */
  verifySecondFactor(accountId: string, method: MfaMethod, code: string, ip: string): Promise<SecondFactorCheck>;
  /**
   * Sends an email code, unless within the resend cooldown or past the account's hourly cap (both with
   * retryAfterSeconds), or email codes are not available now.
   */
  sendEmailCode(accountId: string): Promise<EmailCodeSending>;
  /**
   * Starts TOTP enrollment for this sign-in (the interaction uid): a new secret (not active until confirmed)
   * and its otpauth:// URI. Only the same sign-in can confirm it.
   */
  startTotpEnrollment(accountId: string, interactionUid: string): Promise<{ secret: string; otpauthUri: string }>;
  /** Activates the TOTP secret this sign-in started when the code matches (and tells the owner by email); false otherwise. */
  confirmTotpEnrollment(accountId: string, code: string, interactionUid: string): Promise<boolean>;
  /** New recovery codes (replacing any old ones), in clear exactly once. */
  generateRecoveryCodes(accountId: string): Promise<string[]>;
  /** Whether the account must have a second factor regardless of the request (account or global policy). */
  mfaRequiredFor(accountId: string): Promise<boolean>;
  /** An email address for display ("code sent to a***@example.com"). */
  emailOf(accountId: string): Promise<string | undefined>;
}
