import type { ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const FRESH_RECOVERY_CODES_COLLECTION = 'dashboard_fresh_recovery_codes';
/** Long enough to read, copy or download the codes; they are never shown after this. */
const KEEP_SECONDS = 10 * 60;

interface FreshCodesDocument extends StoredDocument {
  sealedCodes: string;
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

  async keep(sessionId: string, codes: string[]): Promise<void> {
    await this.#collection.replace({
      _id: this.#key(sessionId),
      sealedCodes: this.secrets.encrypt('token-hash', JSON.stringify(codes), `dashboard-recovery-codes:${sessionId}`),
      expiresAt: new Date(Date.now() + KEEP_SECONDS * 1000),
    });
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
