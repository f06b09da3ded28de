import type { RecoveryCodeSet } from '../mfa/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';

export const FRESH_RECOVERY_CODES_COLLECTION = 'dashboard_fresh_recovery_codes';
/** Long enough to read, copy or download the codes; they are never shown after this. */
const KEEP_SECONDS = 10 * 60;

interface FreshCodesDocument extends StoredDocument {
  sealedCodes: string;
  /** The set's number (RecoveryCodeSet.generation); absent on documents kept before sets were numbered. */
  generation?: number;
}

/**
 * Recovery codes just generated on the dashboard, kept encrypted for a few minutes and bound to the dashboard
 * session that made them, so the page showing them once can be reloaded and offer a download (no secret in a
 * URL, no script). "I have saved them" forgets them at once.
 */
export class FreshRecoveryCodes {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {}

  get #collection() {
    return this.store.collection<FreshCodesDocument>(FRESH_RECOVERY_CODES_COLLECTION);
  }

  #key(sessionId: string): string {
    return this.secrets.keyedHash('token-hash', `dashboard-recovery-codes:${sessionId}`);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(FRESH_RECOVERY_CODES_COLLECTION, []);
  }

  /**
   * Keeps a set to show, unless the session already keeps a newer one. A double-clicked form makes two sets at
   * once, and only the higher-numbered one works: whichever request finishes last, the page must show that
   * one, never codes that were replaced before anyone saw them.
   */
  async keep(sessionId: string, set: RecoveryCodeSet): Promise<void> {
    const _id = this.#key(sessionId);
    const fields = {
      sealedCodes: this.secrets.encrypt('token-hash', JSON.stringify(set.codes), `dashboard-recovery-codes:${sessionId}`),
      generation: set.generation,
      expiresAt: new Date(Date.now() + KEEP_SECONDS * 1000),
    };
    try {
      await this.#collection.updateOne({ _id, generation: { $lt: set.generation } }, { $set: fields }, { upsert: true });
    } catch (error) {
      // The session keeps a set already: a newer one (keep it), or one kept before sets were numbered (replace it).
      if (!(error instanceof DuplicateKeyError)) throw error;
      await this.#collection.updateOne({ _id, generation: { $exists: false } }, { $set: fields });
    }
  }

  async read(sessionId: string): Promise<string[] | undefined> {
    const document = await this.#collection.findOne({ _id: this.#key(sessionId) });
    if (!document) return undefined;
    return JSON.parse(this.secrets.decrypt('token-hash', document.sealedCodes, `dashboard-recovery-codes:${sessionId}`).toString()) as string[];
  }

  async forget(sessionId: string): Promise<void> {
    await this.#collection.deleteMany({ _id: this.#key(sessionId) });
  }
}
