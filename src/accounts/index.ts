import { randomBytes } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';
import { normalizeEmail } from './email-address.js';
import { PasswordHasher, type Argon2Parameters } from './password-hash.js';
import { checkPasswordPolicy, PasswordPolicyError } from './password-policy.js';
import { SignInThrottle, THROTTLE_COLLECTION, type AttemptReservation, type AttemptTicket, type ThrottleSettings, type ThrottleState } from './throttle.js';

export { checkPasswordPolicy, describePasswordProblem, PasswordPolicyError, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.js';
export type { PasswordProblem } from './password-policy.js';
export { SignInThrottle, THROTTLE_COLLECTION } from './throttle.js';
export type { AttemptReservation, AttemptTicket, ThrottleSettings, ThrottleState } from './throttle.js';
export { EmailedLinks, type LiveLink } from './emailed-links.js';
export { canonicalMailbox, normalizeEmail } from './email-address.js';
export { MailboxBudget } from './mailbox-budget.js';

export const ACCOUNTS_COLLECTION = 'accounts';

/** `unverified`: signed up on the dashboard, email not yet confirmed; only `active` accounts can sign in. */
export type AccountStatus = 'active' | 'disabled' | 'unverified';

/** A user as the rest of the server sees it: never the password hash. */
export interface Account {
  /** `C-` + random; stable, unique; also the OIDC `sub` and the token's `customer_id`. */
  customerId: string;
  email: string;
  roles: string[];
  /** ITU calling code without `+` (e.g. `49`), when known. */
  countryCode?: string;
  status: AccountStatus;
  createdAt: Date;
  updatedAt: Date;
}

interface AccountDocument extends StoredDocument {
  email: string;
  /** Lower-cased email, unique: addresses are compared case-insensitively. */
  emailKey: string;
  passwordHash: string;
  roles: string[];
  countryCode?: string;
  status: AccountStatus;
  createdAt: Date;
  updatedAt: Date;
  passwordChangedAt: Date;
  /** Set by an operator: the next sign-in must enroll a second factor (like Keycloak's "Configure OTP"). */
  mfaEnrollmentRequired?: boolean;
}

export interface NewAccount {
  email: string;
  password: string;
  roles?: string[];
  countryCode?: string;
  /** Chosen by the caller (seed, import); generated otherwise. */
  customerId?: string;
  /** Only for the development seed's well-known demo password. */
  skipPasswordPolicy?: boolean;
  /** Default `active`; self-service sign-up creates `unverified` accounts. */
  status?: AccountStatus;
}

export class EmailTakenError extends Error {
  override name = 'EmailTakenError';
}

/** Why an account is not the one a caller named besides its username (see IdentityCheck). */
export type IdentityMismatch = 'email_mismatch' | 'country_mismatch';

/**
 * A further condition a caller puts on the account a password check is for (the Generate Token API names the
 * customer's email and country too); undefined when the account meets it.
 */
export type IdentityCheck = (account: Account) => IdentityMismatch | undefined;

/** The outcome of a password check; `invalid` covers unknown user, wrong password, disabled and throttled alike. */
export type PasswordCheck =
  | { ok: true; account: Account }
  | { ok: false; reason: 'unknown_user' | 'wrong_password' | 'disabled' | 'throttled' | IdentityMismatch; account?: Account; throttle?: ThrottleState };

/** Told when an account hits the failure ceiling, so its owner can be warned by email. */
export type CeilingListener = (account: Account) => Promise<void>;

export interface AccountServiceOptions {
  argon2: Argon2Parameters;
  throttle: ThrottleSettings;
}

const CUSTOMER_ID_PATTERN = /^C-[A-Za-z0-9_-]{4,64}$/;

export function isCustomerId(value: string): boolean {
  return CUSTOMER_ID_PATTERN.test(value);
}

/**
 * The password hash of an account that has none yet (a sign-up waiting for its email to be confirmed): not a
 * PHC string, so no password ever verifies against it, whatever later changes the account's status.
 */
const NO_PASSWORD = '!';

function newCustomerId(): string {
  return `C-${randomBytes(12).toString('base64url')}`;
}

function toAccount(document: AccountDocument): Account {
  const account: Account = {
    customerId: document._id,
    email: document.email,
    roles: document.roles,
    status: document.status,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
  if (document.countryCode !== undefined) account.countryCode = document.countryCode;
  return account;
}

/** Users: lookup, argon2id password verification with throttling, and password changes. */
export class AccountService {
  readonly #hasher: PasswordHasher;
  readonly throttle: SignInThrottle;
  #ceilingListeners: CeilingListener[] = [];

  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    options: AccountServiceOptions,
  ) {
    this.#hasher = new PasswordHasher(options.argon2);
    this.throttle = new SignInThrottle(store, options.throttle);
  }

  get #accounts() {
    return this.store.collection<AccountDocument>(ACCOUNTS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(ACCOUNTS_COLLECTION, [{ fields: { emailKey: 1 }, unique: true }]);
    // No extra index: registering the collection gives its expiring counters a TTL index or the sweeper.
    await this.store.ensureIndexes(THROTTLE_COLLECTION, []);
  }

  onCeilingReached(listener: CeilingListener): void {
    this.#ceilingListeners.push(listener);
  }

  /** Creates an account; throws PasswordPolicyError or EmailTakenError. */
  async create(input: NewAccount): Promise<Account> {
    if (!input.skipPasswordPolicy) {
      const problem = checkPasswordPolicy(input.password);
      if (problem) throw new PasswordPolicyError(problem);
    }
    const now = new Date();
    const document: AccountDocument = {
      _id: input.customerId ?? newCustomerId(),
      email: input.email.trim(),
      emailKey: normalizeEmail(input.email),
      passwordHash: await this.#hasher.hash(input.password),
      roles: input.roles ?? [],
      status: input.status ?? 'active',
      createdAt: now,
      updatedAt: now,
      passwordChangedAt: now,
    };
    if (input.countryCode !== undefined) document.countryCode = input.countryCode;
    return this.#insert(document);
  }

  /**
   * Creates the `unverified` account of a self-service sign-up, with no password: the password is set only
   * by the confirmation of an emailed link (activateVerified), from the sign-up that link was sent for.
   * Throws EmailTakenError.
   */
  async createPendingSignUp(email: string): Promise<Account> {
    const now = new Date();
    return this.#insert({
      _id: newCustomerId(),
      email: email.trim(),
      emailKey: normalizeEmail(email),
      passwordHash: NO_PASSWORD,
      roles: [],
      status: 'unverified',
      createdAt: now,
      updatedAt: now,
      passwordChangedAt: now,
    });
  }

  async #insert(document: AccountDocument): Promise<Account> {
    try {
      await this.#accounts.insert(document);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw new EmailTakenError('an account with this email already exists');
      throw error;
    }
    return toAccount(document);
  }

  async findById(customerId: string): Promise<Account | undefined> {
    const document = await this.#accounts.findOne({ _id: customerId });
    return document ? toAccount(document) : undefined;
  }

  async findByEmail(email: string): Promise<Account | undefined> {
    const document = await this.#accounts.findOne({ emailKey: normalizeEmail(email) });
    return document ? toAccount(document) : undefined;
  }

  /** A username is an email address or a customer id. */
  async findByUsername(username: string): Promise<Account | undefined> {
    const document = await this.#documentByUsername(username);
    return document ? toAccount(document) : undefined;
  }

  /** The throttle key: the account id, or a keyed hash of the name when no such account exists. */
  throttleSubject(username: string, account: Account | undefined): string {
    return account?.customerId ?? `unknown:${this.secrets.keyedHash('code-hash', normalizeEmail(username))}`;
  }

  /**
   * Checks a password with throttling per (account, IP). Every failing path costs one argon2
   * verification (a dummy hash for unknown users), so timing does not tell them apart. The attempt is
   * reserved before the check (see SignInThrottle), so concurrent attempts count like sequential ones. A
   * correct password gives its reservation back but does not clear the backoff: only a completed sign-in
   * does (see recordSignInSuccess), since the second factor may still fail. An account failing `identity` is
   * refused like a wrong password: the same work, counted by the same throttle, whatever the password. A
   * check that throws gives its reservation back before the error goes on: it was not a failure.
   */
  async verifyPassword(username: string, password: string, ip: string, identity?: IdentityCheck): Promise<PasswordCheck> {
    const document = await this.#documentByUsername(username);
    const account = document ? toAccount(document) : undefined;
    const reservation = await this.throttle.reserve(this.throttleSubject(username, account), ip);
    if (reservation.throttled) {
      await this.#hasher.verifyDummy(password);
      return { ok: false, reason: 'throttled', account, throttle: reservation };
    }
    const { ticket } = reservation;
    // Only the check may give the reservation back on an error: once its outcome is known, a failure stays counted.
    const refusal = await this.throttle.checkReserved(ticket, () => this.#refusalOf(document, password, identity));
    if (!document || !account || refusal === 'unknown_user') {
      await this.recordFailure(ticket, undefined);
      return { ok: false, reason: 'unknown_user' };
    }
    if (refusal) {
      await this.recordFailure(ticket, account);
      return { ok: false, reason: refusal, account };
    }
    await this.throttle.release(ticket);
    if (this.#hasher.needsRehash(document.passwordHash)) {
      await this.#accounts.updateOne(
        { _id: document._id, passwordHash: document.passwordHash },
        { $set: { passwordHash: await this.#hasher.hash(password) } },
      );
    }
    return { ok: true, account };
  }

  /** Why this password does not sign the account in (undefined when it does); one argon2 verification on every path. */
  async #refusalOf(
    document: AccountDocument | null,
    password: string,
    identity: IdentityCheck | undefined,
  ): Promise<'unknown_user' | 'wrong_password' | 'disabled' | IdentityMismatch | undefined> {
    const mismatch = document && identity ? identity(toAccount(document)) : undefined;
    if (document && document.status === 'active' && !mismatch) {
      return (await this.#hasher.verify(document.passwordHash, password)) ? undefined : 'wrong_password';
    }
    await this.#hasher.verifyDummy(password);
    if (!document) return 'unknown_user';
    return mismatch ?? 'disabled';
  }

  async #documentByUsername(username: string): Promise<AccountDocument | null> {
    const trimmed = username.trim();
    if (trimmed.length === 0 || trimmed.length > 320) return null;
    return isCustomerId(trimmed) ? this.#accounts.findOne({ _id: trimmed }) : this.#accounts.findOne({ emailKey: normalizeEmail(trimmed) });
  }

  /**
   * Reserves a second-factor attempt (same throttle as passwords), before the code is checked; settle the
   * ticket with recordFailure or releaseAttempt.
   */
  async reserveAttempt(account: Account, ip: string): Promise<AttemptReservation> {
    return this.throttle.reserve(account.customerId, ip);
  }

  /** Runs the check of a reserved attempt: one that throws gives its reservation back (it was not a failure). */
  async checkReservedAttempt<T>(ticket: AttemptTicket, check: () => Promise<T>): Promise<T> {
    return this.throttle.checkReserved(ticket, check);
  }

  /** Gives back a reserved attempt that was not a failure. */
  async releaseAttempt(ticket: AttemptTicket): Promise<void> {
    await this.throttle.release(ticket);
  }

  /** Counts a reserved attempt as a failed password or second factor; tells the ceiling listeners once when the ceiling is hit. */
  async recordFailure(ticket: AttemptTicket, account: Account | undefined): Promise<{ ceilingReached: boolean }> {
    const outcome = await this.throttle.recordFailure(ticket);
    if (outcome.ceilingReached && account) {
      await Promise.all(this.#ceilingListeners.map((listener) => listener(account)));
    }
    return outcome;
  }

  async recordSignInSuccess(account: Account, ip: string): Promise<void> {
    await this.throttle.recordSuccess(account.customerId, ip);
  }

  /** Sets a new password (policy applied). Ending sessions and tokens is the caller's business. */
  async changePassword(customerId: string, newPassword: string): Promise<void> {
    const problem = checkPasswordPolicy(newPassword);
    if (problem) throw new PasswordPolicyError(problem);
    const now = new Date();
    await this.#accounts.updateOne(
      { _id: customerId },
      { $set: { passwordHash: await this.#hasher.hash(newPassword), passwordChangedAt: now, updatedAt: now } },
    );
  }

  async setStatus(customerId: string, status: AccountStatus): Promise<void> {
    await this.#accounts.updateOne({ _id: customerId }, { $set: { status, updatedAt: new Date() } });
  }

  /**
   * Activates an account whose email was just verified, with the password of the sign-up that was confirmed,
   * in one update; false when it was not `unverified` (e.g. disabled, or activated by another link, since).
   */
  async activateVerified(customerId: string, passwordHash: string): Promise<boolean> {
    const now = new Date();
    const updated = await this.#accounts.updateOne(
      { _id: customerId, status: 'unverified' },
      { $set: { status: 'active', passwordHash, passwordChangedAt: now, updatedAt: now } },
    );
    return updated !== null;
  }

  /**
   * The argon2id hash of a new password (policy applied: throws PasswordPolicyError), to be kept until the
   * account takes it (a pending sign-up). Every sign-up answer computes one, so its timing tells nothing.
   */
  async hashNewPassword(password: string): Promise<string> {
    const problem = checkPasswordPolicy(password);
    if (problem) throw new PasswordPolicyError(problem);
    return this.#hasher.hash(password);
  }

  /** Whether the password is the one a hash from hashNewPassword was made of. */
  async passwordMatchesHash(passwordHash: string, password: string): Promise<boolean> {
    return this.#hasher.verify(passwordHash, password);
  }

  async setRoles(customerId: string, roles: string[]): Promise<void> {
    await this.#accounts.updateOne({ _id: customerId }, { $set: { roles, updatedAt: new Date() } });
  }

  /** Accounts in creation order, oldest first (for operators). */
  async list(options: { limit: number; skip?: number }): Promise<Account[]> {
    const documents = await this.#accounts.find({}, { sort: { createdAt: 1 }, limit: options.limit, skip: options.skip ?? 0 });
    return documents.map(toAccount);
  }

  /** Makes the next sign-in enroll a second factor (or stops requiring it). */
  async requireMfaEnrollment(customerId: string, required: boolean): Promise<void> {
    await this.#accounts.updateOne(
      { _id: customerId },
      required ? { $set: { mfaEnrollmentRequired: true, updatedAt: new Date() } } : { $unset: ['mfaEnrollmentRequired'], $set: { updatedAt: new Date() } },
    );
  }

  async requiresMfaEnrollment(customerId: string): Promise<boolean> {
    return (await this.#accounts.findOne({ _id: customerId }))?.mfaEnrollmentRequired === true;
  }
}

/**
 * Whether an account must have a second factor: the server-wide policy (REQUIRE_MFA), or an operator's
 * require-mfa on that account. One rule for the login pages (enrollment) and the dashboard (removal).
 */
export function secondFactorRequirement(requiredForAll: boolean, accounts: AccountService): (customerId: string) => Promise<boolean> {
  return async (customerId) => requiredForAll || (await accounts.requiresMfaEnrollment(customerId));
}
