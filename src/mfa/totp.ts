import { generateSecret, generateURI, verify } from 'otplib';

import type { ServerSecrets } from '../secrets/index.js';
import { upsertById, type Store, type StoredDocument } from '../store/index.js';

export const MFA_FACTORS_COLLECTION = 'mfa_factors';

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const TOTP_DIGITS = 6;
/** One step either side, for clock drift and typing time. */
const TOTP_TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;
/** An enrollment not confirmed within this time must start over. */
const PENDING_ENROLLMENT_SECONDS = 15 * 60;

/** Per-account second-factor state. Flat fields, because the Store filters on top-level fields only. */
export interface MfaFactorsDocument extends StoredDocument {
  totpSealedSecret?: string;
  /** The last accepted time step: a code for it or any earlier step is refused (replay). */
  totpLastStep?: number;
  totpConfirmedAt?: Date;
  totpPendingSealedSecret?: string;
  totpPendingUntil?: Date;
  /**
   * Who started the pending enrollment (a dashboard session, a sign-in): only they may see its key or confirm
   * it. The key is a second factor, and starting an enrollment is what re-authentication guards: another
   * session of the account that never re-authenticated must not pick it up.
   */
  totpPendingStartedBy?: string;
  /** Email codes as a factor on their own (TOTP users can always fall back to email when mail is on). */
  emailFactor?: boolean;
  /**
   * Set by a password reset through an emailed link: the mailbox proved the password, so emailed codes do
   * not count as the second factor until the account's other factor is used (see MfaService.methodsFor).
   */
  emailDistrustedSince?: Date;
}

export interface TotpEnrollment {
  /** Base32, for manual entry. */
  secret: string;
  /** `otpauth://totp/...`, for a QR code. */
  uri: string;
}

/** For tests and tools: when to evaluate a code, in Unix seconds (default now). */
export interface TotpClock {
  epoch?: number;
}

function isSixDigits(code: string): boolean {
  return /^\d{6}$/.test(code);
}

/** TOTP second factor: enrollment, confirmation, verification with replay protection; secrets sealed at rest. */
export class TotpFactor {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly issuer: string,
  ) {}

  get #factors() {
    return this.store.collection<MfaFactorsDocument>(MFA_FACTORS_COLLECTION);
  }

  #seal(accountId: string, secret: string): string {
    return this.secrets.encrypt('totp-encryption', secret, `totp:${accountId}`);
  }

  #open(accountId: string, sealed: string): string {
    return this.secrets.decrypt('totp-encryption', sealed, `totp:${accountId}`).toString();
  }

  uri(label: string, secret: string): string {
    return generateURI({ issuer: this.issuer, label, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
  }

  /**
   * Starts (or restarts) an enrollment for `startedBy` (who re-authenticated for it: a dashboard session, a
   * sign-in); the factor counts only once that same starter confirms it.
   */
  async enroll(accountId: string, label: string, startedBy: string): Promise<TotpEnrollment> {
    const secret = generateSecret();
    // The account's first enrollment creates its factors document: two started at once may race to insert it.
    await upsertById(this.#factors, accountId, {
      $set: {
        totpPendingSealedSecret: this.#seal(accountId, secret),
        totpPendingUntil: new Date(Date.now() + PENDING_ENROLLMENT_SECONDS * 1000),
        totpPendingStartedBy: startedBy,
      },
    });
    return { secret, uri: this.uri(label, secret) };
  }

  /** The sealed key of the live enrollment `startedBy` started; undefined for none, an expired one, or another's. */
  #pendingSealed(factors: MfaFactorsDocument | null, startedBy: string): string | undefined {
    const sealed = factors?.totpPendingSealedSecret;
    if (!sealed || !factors.totpPendingUntil || factors.totpPendingUntil.getTime() < Date.now()) return undefined;
    // An enrollment recorded before starters were (no totpPendingStartedBy) is nobody's: it is started again.
    return factors.totpPendingStartedBy === startedBy ? sealed : undefined;
  }

  /** The enrollment `startedBy` started and has not confirmed (nor let expire), to show its QR code again. */
  async pending(accountId: string, label: string, startedBy: string): Promise<TotpEnrollment | undefined> {
    const sealed = this.#pendingSealed(await this.#factors.findOne({ _id: accountId }), startedBy);
    if (!sealed) return undefined;
    const secret = this.#open(accountId, sealed);
    return { secret, uri: this.uri(label, secret) };
  }

  /** Confirms the enrollment `startedBy` started, with a code from the app; the code's step is then spent. */
  async confirm(accountId: string, code: string, startedBy: string, clock: TotpClock = {}): Promise<boolean> {
    const sealed = this.#pendingSealed(await this.#factors.findOne({ _id: accountId }), startedBy);
    if (!sealed) return false;
    const step = await this.#matchingStep(this.#open(accountId, sealed), code, undefined, clock);
    if (step === undefined) return false;
    const updated = await this.#factors.updateOne(
      { _id: accountId, totpPendingSealedSecret: sealed, totpPendingStartedBy: startedBy },
      {
        $set: { totpSealedSecret: sealed, totpLastStep: step, totpConfirmedAt: new Date() },
        $unset: ['totpPendingSealedSecret', 'totpPendingUntil', 'totpPendingStartedBy'],
      },
    );
    return updated !== null;
  }

  /** Installs a known secret directly (development seed only). */
  async install(accountId: string, secret: string): Promise<void> {
    await upsertById(this.#factors, accountId, { $set: { totpSealedSecret: this.#seal(accountId, secret), totpLastStep: 0, totpConfirmedAt: new Date() } });
  }

  async isEnrolled(accountId: string): Promise<boolean> {
    return (await this.#factors.findOne({ _id: accountId }))?.totpSealedSecret !== undefined;
  }

  async remove(accountId: string): Promise<void> {
    await this.#factors.updateOne(
      { _id: accountId },
      { $unset: ['totpSealedSecret', 'totpLastStep', 'totpConfirmedAt', 'totpPendingSealedSecret', 'totpPendingUntil', 'totpPendingStartedBy'] },
    );
  }

  /**
   * Verifies a code for the current step +-1. Each step is accepted once per account: the step is
   * recorded with one conditional update, so of two concurrent uses of the same code only one wins.
   */
  async verify(accountId: string, code: string, clock: TotpClock = {}): Promise<boolean> {
    const factors = await this.#factors.findOne({ _id: accountId });
    if (!factors?.totpSealedSecret) return false;
    const lastStep = factors.totpLastStep ?? 0;
    const step = await this.#matchingStep(this.#open(accountId, factors.totpSealedSecret), code, lastStep, clock);
    if (step === undefined) return false;
    const updated = await this.#factors.updateOne(
      { _id: accountId, totpLastStep: { $lt: step } },
      { $set: { totpLastStep: step } },
    );
    return updated !== null;
  }

  async #matchingStep(secret: string, code: string, afterStep: number | undefined, clock: TotpClock): Promise<number | undefined> {
    if (!isSixDigits(code)) return undefined;
    try {
      const result = await verify({
        secret,
        token: code,
        algorithm: 'sha1',
        digits: TOTP_DIGITS,
        period: TOTP_PERIOD_SECONDS,
        epochTolerance: TOTP_TOLERANCE_SECONDS,
        ...(afterStep !== undefined && afterStep > 0 ? { afterTimeStep: afterStep } : {}),
        ...(clock.epoch !== undefined ? { epoch: clock.epoch } : {}),
      });
      return result.valid && 'timeStep' in result ? result.timeStep : undefined;
    } catch {
      return undefined;
    }
  }
}
