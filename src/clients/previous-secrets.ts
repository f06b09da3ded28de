import type { ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';
import { verifyClientSecret } from './secret-hash.js';

export const PREVIOUS_SECRETS_COLLECTION = 'client_previous_secrets';

interface PreviousSecretDocument extends StoredDocument {
  /** The replaced secret's hash (never the secret). */
  hash: string;
  rotatedAt: Date;
}

/**
 * The secret a client had before its last rotation, accepted until its grace period ends (so a partner can
 * deploy the new one without an outage). One per client: rotating again replaces it. The store's expiry
 * (`expiresAt`) ends it on time; "revoke now" deletes it.
 */
export class PreviousClientSecrets {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {}

  get #collection() {
    return this.store.collection<PreviousSecretDocument>(PREVIOUS_SECRETS_COLLECTION);
  }

  async keep(clientId: string, hash: string, graceSeconds: number, now = new Date()): Promise<Date> {
    const expiresAt = new Date(now.getTime() + graceSeconds * 1000);
    await this.#collection.replace({ _id: clientId, hash, rotatedAt: now, expiresAt });
    return expiresAt;
  }

  /** When the previous secret stops working; undefined when there is none (or it has ended). */
  async validUntil(clientId: string): Promise<Date | undefined> {
    return (await this.#collection.findOne({ _id: clientId }))?.expiresAt;
  }

  async matches(clientId: string, presented: string): Promise<boolean> {
    const document = await this.#collection.findOne({ _id: clientId });
    return document !== null && verifyClientSecret(this.secrets, document.hash, presented);
  }

  /** Ends the previous secret now; true when there was one. */
  async revoke(clientId: string): Promise<boolean> {
    return (await this.#collection.deleteMany({ _id: clientId })) > 0;
  }
}
