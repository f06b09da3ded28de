import type { ClientRegistry } from '../clients/index.js';
import { collectionName, readStoredPayload, type OidcDocument } from '../provider/index.js';
import type { Filter, Store } from '../store/index.js';
import type { RecordReferences } from './references.js';

/**
 * The stored token models the list reads: the account's own access and refresh tokens (the adapter keeps
 * `accountId` beside each, indexed), and the client-credentials tokens of its credentials (`clientId`,
 * indexed). JWT access tokens are never stored (oidc-provider only emits them), so they are not here.
 */
const TOKEN_MODELS = ['AccessToken', 'RefreshToken', 'ClientCredentials'] as const;
export type TokenModel = (typeof TOKEN_MODELS)[number];

/** How many of each kind the page lists, newest first (an app refreshing often can hold many). */
export const MAX_LISTED_PER_KIND = 100;

/** One stored token as the page shows it: never its value (only a keyed hash of it is stored). */
export interface ActiveToken {
  /** A sealed reference to the stored record, usable only by this account to revoke it (references.ts). */
  reference: string;
  /** Which stored model it is; the reference is sealed for it. */
  model: TokenModel;
  kind: 'access' | 'refresh';
  /** Whose token: the account's (issued to an app it signed in to) or one of its credentials'. */
  holder: 'account' | 'credential';
  clientId: string;
  clientName: string;
  scopes: string[];
  issuedAt: Date;
  expiresAt: Date | undefined;
  /** Always `opaque`: the only format that is stored. */
  format: 'opaque';
}

export interface ActiveTokenList {
  tokens: ActiveToken[];
  /** True when some kind had more than MAX_LISTED_PER_KIND tokens and only the newest are shown. */
  truncated: boolean;
}

/** What revoking one token did; `grantRevoked` for a refresh token, whose grant goes with it (RFC 7009 2.1). */
export type TokenRevocation = { revoked: false } | { revoked: true; model: TokenModel; clientId: string; grantRevoked: boolean };

function isTokenModel(value: string): value is TokenModel {
  return (TOKEN_MODELS as readonly string[]).includes(value);
}

/**
 * The account's active tokens and its credentials' tokens, each revocable on its own. A token is named
 * to the page by a sealed reference (kind + stored hash, bound to the account), never by its value.
 */
export class ActiveTokens {
  constructor(
    private readonly store: Store,
    private readonly clients: ClientRegistry,
    private readonly references: RecordReferences,
    private readonly dependencies: {
      /** Clients whose tokens are not listed (the dashboard's own sign-in, which keeps no token). */
      hiddenClientIds: ReadonlySet<string>;
      /** Revokes a grant and everything issued under it (JWTs included). */
      revokeGrant(grantId: string): Promise<unknown>;
    },
  ) {}

  #collection(model: TokenModel) {
    return this.store.collection<OidcDocument>(collectionName(model));
  }

  /** Which of the account's stored tokens a model holds: by account, or by the account's credentials. */
  #ownedBy(model: TokenModel, accountId: string, credentialIds: string[]): Filter | undefined {
    if (model === 'ClientCredentials') return credentialIds.length === 0 ? undefined : { clientId: { $in: credentialIds } };
    // A used refresh token stays stored (for reuse detection) but no longer works: not an active token.
    return model === 'RefreshToken' ? { accountId, consumed: { $exists: false } } : { accountId };
  }

  async list(accountId: string, credentialIds: string[]): Promise<ActiveTokenList> {
    const names = new Map<string, Promise<string>>();
    const clientName = (clientId: string) => {
      let name = names.get(clientId);
      if (!name) {
        name = this.clients.get(clientId).then((client) => client?.name || clientId);
        names.set(clientId, name);
      }
      return name;
    };
    let truncated = false;
    const perModel = await Promise.all(
      TOKEN_MODELS.map(async (model) => {
        const filter = this.#ownedBy(model, accountId, credentialIds);
        if (!filter) return [];
        // One more than shown tells whether there are more; sorted by write time (a token is written once).
        const documents = await this.#collection(model).find(filter, { sort: { createdAt: -1 }, limit: MAX_LISTED_PER_KIND + 1 });
        if (documents.length > MAX_LISTED_PER_KIND) truncated = true;
        const listed = documents
          .slice(0, MAX_LISTED_PER_KIND)
          .filter((document) => document.clientId !== undefined && !this.dependencies.hiddenClientIds.has(document.clientId));
        return Promise.all(listed.map(async (document) => this.#describe(model, accountId, document, await clientName(String(document.clientId)))));
      }),
    );
    const tokens = perModel.flat().sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime());
    return { tokens, truncated };
  }

  #describe(model: TokenModel, accountId: string, document: OidcDocument, clientName: string): ActiveToken {
    // A record of another shape (readStoredPayload) is listed with what the store itself says.
    const payload = readStoredPayload(document.data);
    const { exp, iat, scope } = payload ?? {};
    const expiresAt = typeof exp === 'number' ? new Date(exp * 1000) : document.expiresAt;
    return {
      reference: this.references.seal(model, accountId, document._id),
      model,
      kind: model === 'RefreshToken' ? 'refresh' : 'access',
      holder: model === 'ClientCredentials' ? 'credential' : 'account',
      clientId: String(document.clientId),
      clientName,
      scopes: typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [],
      issuedAt: typeof iat === 'number' ? new Date(iat * 1000) : new Date(document.createdAt),
      expiresAt,
      format: 'opaque',
    };
  }

  /**
   * Revokes the token a reference names, only if it is the account's (or one of its credentials'). An
   * access token is deleted (introspection then answers active:false); a refresh token takes its grant with
   * it, as at the revocation endpoint, so the access tokens it obtained (JWTs too) stop as well.
   */
  async revoke(accountId: string, credentialIds: string[], model: string, reference: string): Promise<TokenRevocation> {
    if (!isTokenModel(model)) return { revoked: false };
    const storedId = this.references.open(model, accountId, reference);
    const owner = this.#ownedBy(model, accountId, credentialIds);
    if (storedId === undefined || !owner) return { revoked: false };
    const document = await this.#collection(model).findOne({ ...owner, _id: storedId });
    if (!document?.clientId || this.dependencies.hiddenClientIds.has(document.clientId)) return { revoked: false };
    const removed = await this.#collection(model).deleteMany({ ...owner, _id: storedId });
    if (removed === 0) return { revoked: false };
    const grantRevoked = model === 'RefreshToken' && document.grantId !== undefined;
    if (grantRevoked && document.grantId) await this.dependencies.revokeGrant(document.grantId);
    return { revoked: true, model, clientId: document.clientId, grantRevoked };
  }
}
