import { randomBytes } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';

interface EmailedLinkDocument extends StoredDocument {
  accountId: string;
  createdAt: Date;
  /** Set atomically by the one request that uses the link. */
  claimedAt?: Date;
  /** A sign-up's password, kept with its own link until that link is confirmed (see SelfServiceSignUp). */
  passwordHash?: string;
  /** Password tries made with this link so far (see reserveTry). */
  tries?: number;
}

/** A live, unclaimed link as its page needs it. */
export interface LiveLink {
  accountId: string;
  passwordHash?: string;
}

function liveLink(document: EmailedLinkDocument): LiveLink {
  return { accountId: document.accountId, ...(document.passwordHash !== undefined ? { passwordHash: document.passwordHash } : {}) };
}

/** A token no link of ours carries (ours are 43 characters): answered as a dead link without a lookup. */
const MAX_TOKEN_LENGTH = 128;

/**
 * Single-use links sent by email (password reset, email verification), stored only as a keyed hash of their
 * token, ending at `expiresAt`. By default one live link per account; `keepEarlierLinks` lets several live
 * side by side (sign-up: each link carries its own pending password, so a later one must not end an earlier
 * one). Using one is a single conditional update, so of two concurrent uses exactly one wins.
 */
export class EmailedLinks {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly settings: {
      collection: string;
      /** Also part of the hashed key, so a token of one kind of link can never open another. */
      purpose: string;
      ttlSeconds: number;
      keepEarlierLinks?: boolean;
    },
  ) {}

  get #links() {
    return this.store.collection<EmailedLinkDocument>(this.settings.collection);
  }

  #key(token: string): string {
    return this.secrets.keyedHash('token-hash', `${this.settings.purpose}:${token}`);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(this.settings.collection, [{ fields: { accountId: 1 } }]);
  }

  /** A new link's token for the account; the account's earlier links stop working unless `keepEarlierLinks`. */
  async issue(accountId: string, extra: { passwordHash?: string } = {}): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    if (!this.settings.keepEarlierLinks) await this.#links.deleteMany({ accountId });
    await this.#links.insert({
      _id: this.#key(token),
      accountId,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + this.settings.ttlSeconds * 1000),
      ...(extra.passwordHash !== undefined ? { passwordHash: extra.passwordHash } : {}),
    });
    return token;
  }

  /** The live, unclaimed link of this token, without spending it. */
  async find(token: string): Promise<LiveLink | undefined> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
    const link = await this.#links.findOne({ _id: this.#key(token), claimedAt: { $exists: false } });
    return link ? liveLink(link) : undefined;
  }

  /** Whether the link is live and unused (to show its page); it is not spent. */
  async isLive(token: string): Promise<boolean> {
    return (await this.find(token)) !== undefined;
  }

  /** Claims a live link for this request; its account id, or undefined when it is dead or already claimed. */
  async claim(token: string): Promise<string | undefined> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
    const claimed = await this.#links.updateOne({ _id: this.#key(token), claimedAt: { $exists: false } }, { $set: { claimedAt: new Date() } });
    return claimed?.accountId;
  }

  /**
   * Reserves one password try on a live link, in one conditional update, before the password is checked:
   * the link, with the number of this try, or undefined when the link is dead or its `limit` tries are spent.
   * Counting after the check let concurrent tries all through it (each a password-hash verification, and
   * a guess); reserved first, at most `limit` tries are ever checked. `$ne` rather than `$lt`, so a link
   * without the field (none tried yet) matches too; tries only grow by one, so they never pass `limit`.
   */
  async reserveTry(token: string, limit: number): Promise<(LiveLink & { try: number }) | undefined> {
    if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
    const reserved = await this.#links.updateOne({ _id: this.#key(token), claimedAt: { $exists: false }, tries: { $ne: limit } }, { $inc: { tries: 1 } });
    if (!reserved) return undefined;
    return { ...liveLink(reserved), try: reserved.tries ?? 1 };
  }

  /** Gives a claimed link back (the request that claimed it could not finish, e.g. a refused password). */
  async release(token: string): Promise<void> {
    await this.#links.updateOne({ _id: this.#key(token) }, { $unset: ['claimedAt'] });
  }

  /** Ends every link of the account. */
  async endAllOf(accountId: string): Promise<void> {
    await this.#links.deleteMany({ accountId });
  }

  /** Ends one link. */
  async end(token: string): Promise<void> {
    await this.#links.deleteMany({ _id: this.#key(token) });
  }
}
