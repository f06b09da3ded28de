import type { ClientRegistry } from '../clients/index.js';
import { collectionName, isStoredPayload, readStoredPayload, type OidcDocument, type StoredPayload } from '../provider/index.js';
import type { Store } from '../store/index.js';

/** An app the customer let act for them: one oidc-provider Grant (consent, or a password-grant sign-in). */
export interface ConnectedApp {
  grantId: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  createdAt: Date;
}

const MAX_LISTED = 50;

/**
 * The account's grants, read from the provider's Grant collection (the adapter keeps accountId and clientId
 * beside each one). Revoking one is BulkRevocation.revokeGrant: the grant and every token issued under it.
 */
export class ConnectedApps {
  constructor(
    private readonly store: Store,
    private readonly clients: ClientRegistry,
    /** Clients not shown (the dashboard's own sign-in). */
    private readonly hiddenClientIds: ReadonlySet<string>,
  ) {}

  get #grants() {
    return this.store.collection<OidcDocument>(collectionName('Grant'));
  }

  async list(accountId: string): Promise<ConnectedApp[]> {
    const documents = await this.#grants.find({ accountId }, { sort: { createdAt: -1 }, limit: MAX_LISTED });
    const apps = await Promise.all(
      documents
        .filter((document) => document.clientId !== undefined && !this.hiddenClientIds.has(document.clientId))
        .map(async (document) => {
          const clientId = String(document.clientId);
          const client = await this.clients.get(clientId);
          return { grantId: document._id, clientId, clientName: client?.name || clientId, scopes: grantScopes(readStoredPayload(document.data)), createdAt: new Date(document.createdAt) };
        }),
    );
    return apps;
  }

  async belongsTo(accountId: string, grantId: string): Promise<boolean> {
    return (await this.#grants.findOne({ _id: grantId, accountId })) !== null;
  }
}

/**
 * The scopes a stored Grant holds: its OpenID scope (`openid.scope`) and each resource's (`resources`, one
 * space-separated string per resource indicator). A part of another shape is left out, never a failure.
 */
function grantScopes(payload: StoredPayload | undefined): string[] {
  const openid = payload?.openid;
  const resources = payload?.resources;
  const parts = [isStoredPayload(openid) ? openid.scope : undefined, ...(isStoredPayload(resources) ? Object.values(resources) : [])];
  const scopes = parts.filter((part): part is string => typeof part === 'string').flatMap((part) => part.split(' '));
  return [...new Set(scopes.filter(Boolean))];
}
