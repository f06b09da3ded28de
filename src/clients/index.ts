import type { AdapterPayload } from 'oidc-provider';

import { collectionName, StoreAdapter, type OidcDocument } from '../provider/adapter.js';
import { MFA_REQUIRED_METADATA, PASSWORD_GRANT_METADATA } from '../provider/grants/user-grant-policy.js';
import type { ClientCache } from '../provider/index.js';
import { randomSecret, type ServerSecrets } from '../secrets/index.js';
import type { Migration, Store } from '../store/index.js';
import { hashClientSecret } from './secret-hash.js';
import { validateNewClient } from './validation.js';

export { hashClientSecret, isHashedClientSecret, verifyClientSecret } from './secret-hash.js';
export { ClientValidationError, validateNewClient } from './validation.js';

/** The shape version of documents in the clients collection; bump it with a migration. */
export const CLIENT_SCHEMA_VERSION = 1;

interface ClientDocument extends OidcDocument {
  schemaVersion: number;
}

/** Migrations of the clients collection, run at start (see store/migrations.ts). */
export const CLIENT_MIGRATIONS: Migration[] = [
  {
    id: '0001-clients-schema-version',
    description: 'stamp clients created before schema versions with version 1',
    async up(store) {
      const clients = store.collection<ClientDocument>(collectionName('Client'));
      for (const client of await clients.find({ schemaVersion: { $exists: false } })) {
        await clients.updateOne({ _id: client._id, schemaVersion: { $exists: false } }, { $set: { schemaVersion: 1 } });
      }
    },
  },
];

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface NewClient {
  clientId?: string;
  name: string;
  grantTypes: string[];
  scopes: string[];
  redirectUris?: string[];
  authMethod?: ClientAuthMethod;
  /** A caller-chosen secret (development seed only); otherwise one is generated. */
  secret?: string;
  /** Public keys for private_key_jwt. */
  jwks?: { keys: Record<string, unknown>[] };
  /** Allows the password grant (first-party confidential clients only; RFC 9700 discourages it). */
  passwordGrant?: boolean;
  /** Tokens for this client need a second factor even for accounts without one enrolled. */
  mfaRequired?: boolean;
}

export interface CreatedClient {
  clientId: string;
  /** Returned once, at creation; only its hash is stored. */
  clientSecret: string | undefined;
}

/** OAuth clients as oidc-provider reads them (the Client model), with secrets stored only as hashes. */
export class ClientRegistry {
  readonly #adapter: StoreAdapter;

  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    /** Every change or removal here must evict the client from the provider's cache. */
    private readonly cache?: ClientCache,
  ) {
    this.#adapter = new StoreAdapter('Client', store, secrets);
  }

  /** Validates and stores a registration; throws ClientValidationError naming the bad field. */
  async create(unvalidated: NewClient): Promise<CreatedClient> {
    const input = validateNewClient(unvalidated);
    const clientId = input.clientId ?? `client_${randomSecret(12)}`;
    const authMethod = input.authMethod ?? 'client_secret_basic';
    const usesSecret = authMethod === 'client_secret_basic' || authMethod === 'client_secret_post';
    const clientSecret = usesSecret ? (input.secret ?? randomSecret(32)) : undefined;
    const grantTypes = input.grantTypes;
    const metadata: AdapterPayload = {
      client_id: clientId,
      client_name: input.name,
      grant_types: grantTypes,
      response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
      redirect_uris: input.redirectUris ?? [],
      scope: input.scopes.join(' '),
      token_endpoint_auth_method: authMethod,
      client_id_issued_at: Math.floor(Date.now() / 1000),
    };
    if (clientSecret) metadata.client_secret = hashClientSecret(this.secrets, clientSecret);
    if (input.jwks) metadata.jwks = input.jwks as AdapterPayload['jwks'];
    if (input.passwordGrant !== undefined) metadata[PASSWORD_GRANT_METADATA] = input.passwordGrant;
    if (input.mfaRequired !== undefined) metadata[MFA_REQUIRED_METADATA] = input.mfaRequired;
    await this.store.collection<ClientDocument>(collectionName('Client')).insert({
      _id: clientId,
      data: JSON.stringify(metadata),
      createdAt: new Date(),
      schemaVersion: CLIENT_SCHEMA_VERSION,
    });
    return { clientId, clientSecret };
  }

  async find(clientId: string): Promise<AdapterPayload | undefined> {
    return this.#adapter.find(clientId);
  }

  /** Deletes a client; on this instance it stops working at once, elsewhere within the cache TTL. */
  async remove(clientId: string): Promise<boolean> {
    const deleted = await this.store.collection(collectionName('Client')).deleteMany({ _id: clientId });
    this.cache?.invalidate(clientId);
    return deleted > 0;
  }

  async count(): Promise<number> {
    return this.store.collection(collectionName('Client')).count({});
  }
}
