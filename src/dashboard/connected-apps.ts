import type { ClientRegistry } from '../clients/index.js';
import { collectionName, type OidcDocument } from '../provider/index.js';
import type { Store } from '../store/index.js';

/** An app the customer let act for them: one oidc-provider Grant (consent, or a password-grant sign-in). */
export interface ConnectedApp {
  grantId: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  createdAt: Date;
}

interface GrantPayload {
  openid?: { scope?: string };
  resources?: Record<string, string>;
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
          const payload = JSON.parse(document.data) as GrantPayload;
          const scopes = [payload.openid?.scope ?? '', ...Object.values(payload.resources ?? {})].join(' ').split(' ').filter(Boolean);
          const client = await this.clients.get(clientId);
          return { grantId: document._id, clientId, clientName: client?.name || clientId, scopes: [...new Set(scopes)], createdAt: new Date(document.createdAt) };
        }),
    );
    return apps;
  }

  async belongsTo(accountId: string, grantId: string): Promise<boolean> {
    return (await this.#grants.findOne({ _id: grantId, accountId })) !== null;
  }
}
