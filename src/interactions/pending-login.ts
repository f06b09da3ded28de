import type { ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const PENDING_LOGINS_COLLECTION = 'pending_logins';

/** Where a half-finished sign-in stands. */
export type PendingStage = 'second-factor' | 'enroll' | 'recovery-codes';

interface PendingLoginDocument extends StoredDocument {
  accountId: string;
  stage: PendingStage;
  /** Recovery codes to show once after enrollment, encrypted. */
  sealedRecoveryCodes?: string;
  /** Whether the password was checked in this interaction (false for a step-up of a signed-in session). */
  passwordVerified: boolean;
  /**
   * Whether the sign-in session is to be remembered on this device ("Keep me signed in"), as decided on the
   * login page (or, for a step-up, the session's own choice). Absent on records written before it existed.
   */
  remember?: boolean;
}

export interface PendingLogin {
  accountId: string;
  stage: PendingStage;
  passwordVerified: boolean;
  /** Submitted with the login result once every factor is done: false makes the provider session transient. */
  remember: boolean;
  recoveryCodes?: string[];
}

/**
 * A sign-in that passed its password but not yet its second factor. It lives here, server-side and
 * keyed by a hash of the interaction uid, and NOT in the provider session: oidc-provider writes the
 * account into the session as soon as a login result is submitted, so that happens only at the end.
 */
export class PendingLogins {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {}

  #key(interactionUid: string): string {
    return this.secrets.keyedHash('token-hash', `pending-login:${interactionUid}`);
  }

  get #collection() {
    return this.store.collection<PendingLoginDocument>(PENDING_LOGINS_COLLECTION);
  }

  /**
   * Records the sign-in, with the "keep me signed in" choice made on the login page: kept here, server-side,
   * so the later pages (second factor, enrollment, recovery codes) need not carry it and cannot change it.
   */
  async start(interactionUid: string, login: Omit<PendingLogin, 'recoveryCodes'>, expiresAt: Date): Promise<void> {
    const { accountId, stage, passwordVerified, remember } = login;
    await this.#collection.replace({ _id: this.#key(interactionUid), accountId, stage, passwordVerified, remember, expiresAt });
  }

  async find(interactionUid: string): Promise<PendingLogin | undefined> {
    const document = await this.#collection.findOne({ _id: this.#key(interactionUid) });
    if (!document) return undefined;
    const pending: PendingLogin = {
      accountId: document.accountId,
      stage: document.stage,
      passwordVerified: document.passwordVerified,
      // A record from before the choice existed: not remembered, the safer reading (it lives minutes).
      remember: document.remember === true,
    };
    if (document.sealedRecoveryCodes) {
      pending.recoveryCodes = JSON.parse(
        this.secrets.decrypt('token-hash', document.sealedRecoveryCodes, `recovery:${interactionUid}`).toString(),
      ) as string[];
    }
    return pending;
  }

  async moveTo(interactionUid: string, stage: PendingStage, recoveryCodes?: string[]): Promise<void> {
    const update: Record<string, unknown> = { stage };
    if (recoveryCodes) {
      update.sealedRecoveryCodes = this.secrets.encrypt('token-hash', JSON.stringify(recoveryCodes), `recovery:${interactionUid}`);
    }
    await this.#collection.updateOne({ _id: this.#key(interactionUid) }, { $set: update });
  }

  /**
   * Ends every half-finished sign-in of the account (password passed, factor or enrollment to come): the
   * password they passed may just have changed, and finishing one would sign in with it.
   */
  async endAllOf(accountId: string): Promise<void> {
    await this.#collection.deleteMany({ accountId });
  }

  async finish(interactionUid: string): Promise<void> {
    await this.#collection.deleteMany({ _id: this.#key(interactionUid) });
  }
}
