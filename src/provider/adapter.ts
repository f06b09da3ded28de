import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';

import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Collection, type Filter, type IndexSpec, type Migration, type Store, type StoredDocument } from '../store/index.js';

/** Every model oidc-provider persists through an adapter. */
export const OIDC_MODELS = [
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'ClientCredentials',
  'Client',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'Interaction',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'Grant',
  'BackchannelAuthenticationRequest',
] as const;

export type OidcModel = (typeof OIDC_MODELS)[number];

/** Models whose id is, or unlocks, a bearer credential: stored only under a keyed hash of the id. */
const HASHED_ID_MODELS = new Set<string>([
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'ClientCredentials',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'Interaction',
  'PushedAuthorizationRequest',
  'BackchannelAuthenticationRequest',
]);

/** Models whose records a client owns: revoking every token of a client (secret rotation, deletion) reaches each. */
export const CLIENT_BOUND_MODELS = [
  'AccessToken',
  'ClientCredentials',
  'RefreshToken',
  'AuthorizationCode',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PushedAuthorizationRequest',
  'Grant',
] as const;

/** Models whose records are issued to a user: revoking every token of a user reaches each. */
export const ACCOUNT_BOUND_MODELS = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'Grant'] as const;

/** Models carrying a grantId, which revokeByGrantId must reach. */
export const GRANT_BOUND_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'] as const;

/**
 * Models looked up by something other than their id (Session by uid, DeviceCode by user code): the id
 * itself must come back from such a lookup, so it is kept encrypted rather than only hashed.
 */
const SEALED_ID_MODELS = new Set<string>(['Session', 'DeviceCode']);

export interface OidcDocument extends StoredDocument {
  /** The payload as JSON, without the id (which is the credential) nor the user code. */
  data: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  accountId?: string;
  clientId?: string;
  sealedId?: string;
  /** The user code, encrypted: `find` by device code must return it, and it is a credential too. */
  sealedUserCode?: string;
  /** Epoch seconds when consumed; set at most once, atomically. */
  consumed?: number;
  createdAt: Date;
}

export function collectionName(model: string): string {
  return `oidc_${model}`;
}

/** A JSON object's fields, unchecked: each one read must be checked for its type. */
export type StoredPayload = Readonly<Record<string, unknown>>;

/**
 * A stored record's payload, read outside oidc-provider (the dashboard's lists), or undefined when its JSON is
 * damaged or not an object: a record of another shape (written by hand, or by another oidc-provider version)
 * makes a page show less, never fail.
 */
export function readStoredPayload(data: string): StoredPayload | undefined {
  try {
    const payload: unknown = JSON.parse(data);
    return isStoredPayload(payload) ? payload : undefined;
  } catch {
    return undefined;
  }
}

export function isStoredPayload(value: unknown): value is StoredPayload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Records of an account or of a client, newest first: the dashboard lists tokens and sessions that way, and
 * bulk revocation looks them up by the first field alone. One compound index serves both, so a list reads
 * only the newest entries instead of sorting all of a busy credential's tokens, at no extra index per write.
 */
const BY_ACCOUNT: IndexSpec = { fields: { accountId: 1, createdAt: -1 } };
const BY_CLIENT: IndexSpec = { fields: { clientId: 1, createdAt: -1 } };

/** A user's records are looked up by account: bulk revocation, and the dashboard's token and session lists. */
const LOOKED_UP_BY_ACCOUNT = new Set<string>([...ACCOUNT_BOUND_MODELS, 'Session']);
/** A client's records are looked up by client: bulk revocation, and the dashboard's credential token list. */
const LOOKED_UP_BY_CLIENT = new Set<string>(CLIENT_BOUND_MODELS);

/**
 * The indexes a model's collection needs: only fields it is looked up by, since every index is paid on every
 * write (a client-credentials token, which has no account, is written without an account index).
 */
export function oidcIndexes(model: string): IndexSpec[] {
  const indexes: IndexSpec[] = [];
  if (LOOKED_UP_BY_ACCOUNT.has(model)) indexes.push(BY_ACCOUNT);
  if (LOOKED_UP_BY_CLIENT.has(model)) indexes.push(BY_CLIENT);
  if ((GRANT_BOUND_MODELS as readonly string[]).includes(model)) indexes.push({ fields: { grantId: 1 } });
  if (model === 'Session' || model === 'Interaction') indexes.push({ fields: { uid: 1 } });
  if (model === 'DeviceCode') indexes.push({ fields: { userCode: 1 } });
  return indexes;
}

/** The stored ids a hashed-id model's record (a token, a session) may have for an id: one per readable master key. */
export function hashedIdCandidates(secrets: ServerSecrets, id: string): string[] {
  return secrets.keyedHashCandidates('token-hash', id);
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The oidc-provider adapter contract over our Store, with token values never stored in clear. */
export class StoreAdapter implements Adapter {
  readonly #hashed: boolean;
  readonly #sealed: boolean;
  // Resolved once: the store's collection handles are stable, and a name built per call cost a lookup.
  readonly #collection: Collection<OidcDocument>;

  constructor(
    protected readonly model: string,
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
  ) {
    this.#hashed = HASHED_ID_MODELS.has(model);
    this.#sealed = SEALED_ID_MODELS.has(model);
    this.#collection = store.collection<OidcDocument>(collectionName(model));
  }

  /** The stored key for an id: its keyed hash under the current master key. */
  #storageKey(id: string): string {
    return this.#hashed ? this.secrets.keyedHash('token-hash', id) : id;
  }

  /** A filter finding the id under any master key still readable (after a master-key rotation). */
  #idFilter(id: string): Filter {
    if (!this.#hashed) return { _id: id };
    const candidates = hashedIdCandidates(this.secrets, id);
    return candidates.length === 1 ? { _id: candidates[0] as string } : { _id: { $in: candidates } };
  }

  #userCodeKey(userCode: string): string {
    return this.secrets.keyedHash('token-hash', `user-code:${userCode}`);
  }

  #toPayload(document: OidcDocument, id: string | undefined): AdapterPayload {
    const payload = JSON.parse(document.data) as AdapterPayload;
    if (this.#hashed) {
      // The id was left out of the stored payload (it is the credential); put it back.
      const jti = id ?? (document.sealedId ? this.secrets.decrypt('token-hash', document.sealedId, this.model).toString() : undefined);
      if (jti !== undefined) payload.jti = jti;
    }
    if (document.consumed !== undefined) payload.consumed = document.consumed;
    if (document.sealedUserCode) {
      payload.userCode = this.secrets.decrypt('token-hash', document.sealedUserCode, `${this.model}/userCode`).toString();
    }
    return payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.#collection.replace(this.#document(id, payload, expiresIn));
  }

  /**
   * Stores the record only if none with this id exists yet, in one write; false when one did. What "seen
   * before?" checks need (replay detection), where a find then a save lets concurrent copies all pass.
   */
  async insertIfAbsent(id: string, payload: AdapterPayload, expiresIn: number): Promise<boolean> {
    try {
      await this.#collection.insert(this.#document(id, payload, expiresIn));
      return true;
    } catch (error) {
      if (error instanceof DuplicateKeyError) return false;
      throw error;
    }
  }

  #document(id: string, payload: AdapterPayload, expiresIn: number | undefined): OidcDocument {
    const document: OidcDocument = {
      _id: this.#storageKey(id),
      data: this.#storedJson(payload),
      createdAt: new Date(),
    };
    const { userCode, consumed } = payload;
    if (expiresIn) document.expiresAt = new Date(Date.now() + expiresIn * 1000);
    if (payload.grantId) document.grantId = payload.grantId;
    if (payload.uid) document.uid = payload.uid;
    if (typeof userCode === 'string') {
      document.userCode = this.#userCodeKey(userCode);
      document.sealedUserCode = this.secrets.encrypt('token-hash', userCode, `${this.model}/userCode`);
    }
    const accountId = payload.accountId ?? payload.session?.accountId;
    if (accountId) document.accountId = accountId;
    if (payload.clientId) document.clientId = payload.clientId;
    if (typeof consumed === 'number') document.consumed = consumed;
    if (this.#sealed) document.sealedId = this.secrets.encrypt('token-hash', id, this.model);
    return document;
  }

  /**
   * The payload as stored: without the id of a hashed-id model (it is the credential), the user code (kept
   * encrypted) or `consumed` (its own field, set atomically). Those are set to undefined, which JSON leaves
   * out, for the length of the stringify and then put back: the payload is oidc-provider's, and copying it
   * with a spread was the largest allocation of a token write. Never deleted, which would turn the object
   * into a slow dictionary just before JSON.stringify walks it.
   */
  #storedJson(payload: AdapterPayload): string {
    const { jti, userCode, consumed } = payload;
    if (this.#hashed && jti !== undefined) payload.jti = undefined;
    if (userCode !== undefined) payload.userCode = undefined;
    if (consumed !== undefined) payload.consumed = undefined;
    try {
      return JSON.stringify(payload);
    } finally {
      if (this.#hashed && jti !== undefined) payload.jti = jti;
      if (userCode !== undefined) payload.userCode = userCode;
      if (consumed !== undefined) payload.consumed = consumed;
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const document = await this.#collection.findOne(this.#idFilter(id));
    return document ? this.#toPayload(document, id) : undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const document = await this.#collection.findOne({ uid });
    return document ? this.#toPayload(document, undefined) : undefined;
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    const document = await this.#collection.findOne({ userCode: this.#userCodeKey(userCode) });
    return document ? this.#toPayload(document, undefined) : undefined;
  }

  /**
   * Marks the record consumed only if nobody did before. oidc-provider checks `consumed` and then calls
   * this without looking at the result, so the loser of a race must be stopped here, with invalid_grant.
   */
  async consume(id: string): Promise<void> {
    const updated = await this.#collection.updateOne(
      { ...this.#idFilter(id), consumed: { $exists: false } },
      { $set: { consumed: epochSeconds() } },
    );
    if (!updated) throw new errors.InvalidGrant('grant request is invalid');
  }

  async destroy(id: string): Promise<void> {
    await this.#collection.deleteMany(this.#idFilter(id));
  }

  /** Removes every record of the grant, in every grant-bound collection, whichever model is asked. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await revokeGrantEverywhere(this.store, grantId);
  }
}

export async function revokeGrantEverywhere(store: Store, grantId: string): Promise<void> {
  await Promise.all(GRANT_BOUND_MODELS.map((model) => store.collection(collectionName(model)).deleteMany({ grantId })));
  await store.collection(collectionName('Grant')).deleteMany({ _id: grantId });
}

/** Creates the indexes every oidc-provider collection needs; idempotent. */
export async function ensureOidcIndexes(store: Store): Promise<void> {
  for (const model of OIDC_MODELS) await store.ensureIndexes(collectionName(model), oidcIndexes(model));
}

/** Stored-data changes of the oidc-provider collections, run at start after ensureOidcIndexes. */
export const OIDC_MIGRATIONS: Migration[] = [
  {
    id: '0002-oidc-newest-first-indexes',
    description: 'drop the single-field accountId and clientId indexes of the oidc collections, replaced by accountId/clientId + createdAt',
    async up(store) {
      for (const model of OIDC_MODELS) {
        await store.dropIndexes(collectionName(model), [{ fields: { accountId: 1 } }, { fields: { clientId: 1 } }]);
      }
    },
  },
  {
    id: '0003-oidc-indexes-only-where-looked-up',
    description: 'drop the accountId and clientId indexes of the oidc collections never looked up by them (e.g. accountId on client-credentials tokens)',
    async up(store) {
      for (const model of OIDC_MODELS) {
        const unused = [BY_ACCOUNT, BY_CLIENT].filter((index) => !oidcIndexes(model).includes(index));
        if (unused.length > 0) await store.dropIndexes(collectionName(model), unused);
      }
    },
  },
];

/** Told when oidc-provider itself changes or removes a record of a model (e.g. a Client), so caches can evict it. */
export type WriteListeners = Partial<Record<OidcModel, (id: string) => void>>;

/**
 * Turns a stored client into the metadata oidc-provider loads, or undefined to load none (see client-scopes.ts).
 * The Client adapter's `find` is the only way oidc-provider reads a client, cached or not, so this runs at every
 * load and nowhere else.
 */
export type ClientLoadFilter = (clientId: string, stored: AdapterPayload) => AdapterPayload | undefined;

/** The class oidc-provider's `adapter` option wants, bound to one store. */
export function adapterClass(
  store: Store,
  secrets: ServerSecrets,
  onWrite: WriteListeners = {},
  loadClient?: ClientLoadFilter,
): new (model: string) => Adapter {
  return class BoundStoreAdapter extends StoreAdapter {
    readonly #onWrite: ((id: string) => void) | undefined;
    readonly #loadClient: ClientLoadFilter | undefined;

    constructor(model: string) {
      super(model, store, secrets);
      this.#onWrite = onWrite[model as OidcModel];
      this.#loadClient = model === 'Client' ? loadClient : undefined;
    }

    // Not async either: token lookups (every model but Client) get no extra frame.
    override find(id: string): Promise<AdapterPayload | undefined> {
      const found = super.find(id);
      const load = this.#loadClient;
      return load ? found.then((stored) => (stored ? load(id, stored) : undefined)) : found;
    }

    // Not async: a model nobody listens to (every token model) writes with no frame of ours around it.
    override upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const written = super.upsert(id, payload, expiresIn);
      const notify = this.#onWrite;
      return notify ? written.then(() => notify(id)) : written;
    }

    override async destroy(id: string): Promise<void> {
      await super.destroy(id);
      this.#onWrite?.(id);
    }
  };
}

/** Ends every sign-in session of an account (password reset or change, account disabled). */
export async function endSessionsOfAccount(store: Store, accountId: string): Promise<number> {
  return store.collection(collectionName('Session')).deleteMany({ accountId });
}
