import type { ClientRegistry, PreviousClientSecrets } from '../clients/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const DASHBOARD_CREDENTIALS_COLLECTION = 'dashboard_credentials';

/** An API credential (a client-credentials client) a customer created on the dashboard. */
export interface Credential {
  clientId: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  /** After a rotation: until when the replaced secret still works. */
  previousSecretValidUntil: Date | undefined;
}

interface OwnershipDocument extends StoredDocument {
  accountId: string;
  createdAt: Date;
}

export const MAX_CREDENTIALS_PER_ACCOUNT = 20;

/**
 * Which clients belong to which customer: a small collection beside the clients, so the client model (and
 * the provider's metadata rules) stay as they are. The client record itself is the source of its name and
 * scopes.
 */
export class CustomerCredentials {
  constructor(
    private readonly store: Store,
    private readonly clients: ClientRegistry,
    private readonly previousSecrets: PreviousClientSecrets,
  ) {}

  get #owners() {
    return this.store.collection<OwnershipDocument>(DASHBOARD_CREDENTIALS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(DASHBOARD_CREDENTIALS_COLLECTION, [{ fields: { accountId: 1 } }]);
  }

  async list(accountId: string): Promise<Credential[]> {
    const owned = await this.#owners.find({ accountId }, { sort: { createdAt: 1 }, limit: MAX_CREDENTIALS_PER_ACCOUNT });
    const listed = await Promise.all(
      owned.map(async (document) => {
        const view = await this.clients.get(document._id);
        if (!view) return [];
        const previousSecretValidUntil = await this.previousSecrets.validUntil(view.clientId);
        return [{ clientId: view.clientId, name: view.name, scopes: view.scopes, createdAt: view.createdAt, previousSecretValidUntil }];
      }),
    );
    return listed.flat();
  }

  async owns(accountId: string, clientId: string): Promise<boolean> {
    return (await this.#owners.findOne({ _id: clientId, accountId })) !== null;
  }

  /** The credential's name (the client record's), or undefined when it is gone. */
  async nameOf(clientId: string): Promise<string | undefined> {
    return (await this.clients.get(clientId))?.name;
  }

  async count(accountId: string): Promise<number> {
    return this.#owners.count({ accountId });
  }

  /** Creates the client and records its owner; the secret is returned once. */
  async create(accountId: string, name: string, scopes: string[], roles: string[]): Promise<{ clientId: string; clientSecret: string }> {
    const created = await this.clients.create({ name, grantTypes: ['client_credentials'], scopes, roles, authMethod: 'client_secret_basic' });
    await this.#owners.insert({ _id: created.clientId, accountId, createdAt: new Date() });
    return { clientId: created.clientId, clientSecret: String(created.clientSecret) };
  }

  /** A new secret (returned once); the old one keeps working for the grace period. */
  async rotate(clientId: string, graceSeconds: number): Promise<{ clientSecret: string; previousValidUntil: Date } | undefined> {
    const rotated = await this.clients.rotateSecretWithGrace(clientId, graceSeconds);
    return typeof rotated === 'object' ? rotated : undefined;
  }

  /** Ends the replaced secret at once; true when there was one. */
  async revokePreviousSecret(clientId: string): Promise<boolean> {
    return this.previousSecrets.revoke(clientId);
  }

  /** Deletes the client (its tokens are the caller's to revoke first) and the ownership record. */
  async delete(accountId: string, clientId: string): Promise<boolean> {
    if (!(await this.owns(accountId, clientId))) return false;
    await this.clients.delete(clientId);
    await this.#owners.deleteMany({ _id: clientId });
    return true;
  }
}
