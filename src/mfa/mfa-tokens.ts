import { randomSecret, type ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const MFA_TOKENS_COLLECTION = 'mfa_tokens';

export interface MfaTokenSettings {
  ttlSeconds: number;
  maxAttempts: number;
}

/** What the first step (password) established, carried to the second step. */
export interface MfaTokenContext {
  clientId: string;
  accountId: string;
  /** The scope requested with the password, issued once the second factor is verified. */
  scope: string;
  resource?: string;
}

interface MfaTokenDocument extends StoredDocument, MfaTokenContext {
  /** Codes tried or being tried: each is reserved here before it is checked. */
  attempts: number;
  /** Codes found wrong. */
  wrongCodes?: number;
  createdAt: Date;
}

function contextOf(document: MfaTokenDocument): MfaTokenContext {
  const context: MfaTokenContext = { clientId: document.clientId, accountId: document.accountId, scope: document.scope };
  if (document.resource !== undefined) context.resource = document.resource;
  return context;
}

/**
 * `mfa_token`s: proof that the password step succeeded, bound to one client and one account, short-lived,
 * stored only as a keyed hash, spent on success or after too many wrong codes.
 */
export class MfaTokens {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly settings: MfaTokenSettings,
  ) {}

  get #tokens() {
    return this.store.collection<MfaTokenDocument>(MFA_TOKENS_COLLECTION);
  }

  #filter(token: string) {
    return { _id: { $in: this.secrets.keyedHashCandidates('mfa-token-hash', token) } };
  }

  async issue(context: MfaTokenContext): Promise<{ mfaToken: string; expiresIn: number }> {
    const mfaToken = randomSecret(32);
    const now = Date.now();
    await this.#tokens.insert({
      _id: this.secrets.keyedHash('mfa-token-hash', mfaToken),
      ...context,
      attempts: 0,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.settings.ttlSeconds * 1000),
    });
    return { mfaToken, expiresIn: this.settings.ttlSeconds };
  }

  /** The token's context when it is live, has attempts left, and belongs to this client; else undefined. */
  async find(mfaToken: string, clientId: string): Promise<MfaTokenContext | undefined> {
    if (mfaToken.length === 0 || mfaToken.length > 256) return undefined;
    const document = await this.#tokens.findOne({ ...this.#filter(mfaToken), attempts: { $lt: this.settings.maxAttempts } });
    if (!document || document.clientId !== clientId) return undefined;
    return contextOf(document);
  }

  /**
   * Reserves one code attempt on the token, before the code is checked: the token's context when it is
   * live, belongs to this client and has attempts left (one conditional update, so of concurrent requests
   * at most `maxAttempts` ever get one); else undefined. Settle it with recordWrongCode, releaseAttempt or
   * spend.
   */
  async reserveAttempt(mfaToken: string, clientId: string): Promise<MfaTokenContext | undefined> {
    if (mfaToken.length === 0 || mfaToken.length > 256) return undefined;
    const document = await this.#tokens.updateOne(
      { ...this.#filter(mfaToken), clientId, attempts: { $lt: this.settings.maxAttempts } },
      { $inc: { attempts: 1 } },
    );
    return document ? contextOf(document) : undefined;
  }

  /** Gives back a reserved attempt whose code was not checked (e.g. the sign-in throttle refused it). */
  async releaseAttempt(mfaToken: string): Promise<void> {
    await this.#tokens.updateOne({ ...this.#filter(mfaToken), attempts: { $gt: 0 } }, { $inc: { attempts: -1 } });
  }

  /**
   * Settles a reserved attempt as a wrong code; the token is destroyed at the last wrong one. (Its attempts
   * are spent by then anyway; a right code still being checked on one of them can only be among the
   * reserved ones, and then this count never reaches the limit.)
   */
  async recordWrongCode(mfaToken: string): Promise<void> {
    const updated = await this.#tokens.updateOne(this.#filter(mfaToken), { $inc: { wrongCodes: 1 } });
    if (updated && (updated.wrongCodes ?? 0) >= this.settings.maxAttempts) await this.#tokens.deleteMany({ _id: updated._id });
  }

  /**
   * Ends every live token of the account: they prove a password that may just have changed (or an account
   * just disabled), and the second step would otherwise still turn one into tokens.
   */
  async endAllOf(accountId: string): Promise<void> {
    await this.#tokens.deleteMany({ accountId });
  }

  /** Spends the token; true only for the one caller that removed it. */
  async spend(mfaToken: string): Promise<boolean> {
    return (await this.#tokens.deleteMany(this.#filter(mfaToken))) > 0;
  }
}
