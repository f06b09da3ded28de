import { randomInt } from 'node:crypto';

import { constantTimeEqual, type ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';

export const EMAIL_CODES_COLLECTION = 'mfa_email_codes';

export interface EmailCodeSettings {
  ttlSeconds: number;
  maxAttempts: number;
  resendCooldownSeconds: number;
}

/** One pending code per account; a new one replaces the old. */
interface EmailCodeDocument extends StoredDocument {
  codeHash: string;
  /**
   * The hash of the code this one replaced, which no longer signs in: kept only so that someone typing the
   * code from an older email is told a newer one was sent, rather than that they mistyped.
   */
  supersededCodeHash?: string;
  attempts: number;
  sentAt: Date;
  codeExpiresAt: Date;
}

export type IssueOutcome = { issued: true; code: string } | { issued: false; retryAfterSeconds: number };

/**
 * What a checked code was: the pending one (now spent), the one it replaced (a newer email was sent), or
 * anything else. `superseded` tells nothing the person does not know: they were sent the newer code.
 */
export type EmailCodeCheck = 'accepted' | 'superseded' | 'refused';

/** Six-digit one-time codes sent by email: stored hashed, short-lived, few attempts, resend cooldown. */
export class EmailCodes {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly settings: EmailCodeSettings,
  ) {}

  get #codes() {
    return this.store.collection<EmailCodeDocument>(EMAIL_CODES_COLLECTION);
  }

  #hash(accountId: string, code: string): string {
    return this.secrets.keyedHash('code-hash', `email:${accountId}:${code}`);
  }

  /**
   * Makes a new code unless one was sent within the cooldown. The cooldown is one conditional upsert:
   * when the existing document is too recent the upsert collides on `_id`, so concurrent requests cannot
   * both send.
   */
  async issue(accountId: string): Promise<IssueOutcome> {
    const now = Date.now();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const cooldownMs = this.settings.resendCooldownSeconds * 1000;
    const ttlMs = this.settings.ttlSeconds * 1000;
    // The code being replaced, if any is still pending (a used or withdrawn code's document is gone).
    const replaced = await this.#codes.findOne({ _id: accountId });
    try {
      await this.#codes.updateOne(
        { _id: accountId, sentAt: { $lte: new Date(now - cooldownMs) } },
        {
          $set: {
            codeHash: this.#hash(accountId, code),
            ...(replaced ? { supersededCodeHash: replaced.codeHash } : {}),
            attempts: 0,
            sentAt: new Date(now),
            codeExpiresAt: new Date(now + ttlMs),
            expiresAt: new Date(now + Math.max(ttlMs, cooldownMs)),
          },
        },
        { upsert: true },
      );
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      const existing = await this.#codes.findOne({ _id: accountId });
      const retryAfterMs = existing ? existing.sentAt.getTime() + cooldownMs - now : cooldownMs;
      return { issued: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    }
    return { issued: true, code };
  }

  /** Removes the pending code (it could not be delivered). */
  async withdraw(accountId: string): Promise<void> {
    await this.#codes.deleteMany({ _id: accountId });
  }

  /**
   * Checks a code; each check spends an attempt of the pending code, a match spends the code. A code that
   * matches only the replaced one is `superseded`, never accepted, and is counted like any wrong code, so
   * telling it apart gives a guesser nothing: the attempts are the same, and the replaced code is dead.
   */
  async verify(accountId: string, code: string): Promise<EmailCodeCheck> {
    if (!/^\d{6}$/.test(code)) return 'refused';
    const counted = await this.#codes.updateOne(
      { _id: accountId, attempts: { $lt: this.settings.maxAttempts }, codeExpiresAt: { $gt: new Date() } },
      { $inc: { attempts: 1 } },
    );
    if (!counted) return 'refused';
    const presented = this.secrets.keyedHashCandidates('code-hash', `email:${accountId}:${code}`);
    const matches = (hash: string | undefined) => hash !== undefined && presented.some((candidate) => constantTimeEqual(candidate, hash));
    if (!matches(counted.codeHash)) return matches(counted.supersededCodeHash) ? 'superseded' : 'refused';
    // Of concurrent correct submissions, only the one that deletes the code wins.
    return (await this.#codes.deleteMany({ _id: accountId, codeHash: counted.codeHash })) === 1 ? 'accepted' : 'refused';
  }
}
