import type { AdapterPayload, ClientMetadata } from 'oidc-provider';

import { collectionName, StoreAdapter, type OidcDocument } from '../provider/adapter.js';
import { MFA_REQUIRED_METADATA, PASSWORD_GRANT_METADATA } from '../provider/grants/user-grant-policy.js';
import { unknownScopesOf, withoutScopes } from '../provider/client-scopes.js';
import type { ClientCache } from '../provider/index.js';
import { randomSecret, type ServerSecrets } from '../secrets/index.js';
import type { Migration, Store } from '../store/index.js';
import { PreviousClientSecrets } from './previous-secrets.js';
import { hashClientSecret } from './secret-hash.js';
import {
  type ApplicationType,
  ClientValidationError,
  isPublicClientCredentials,
  isPublicPasswordGrant,
  JWKS_WITHOUT_KEYS_MESSAGE,
  PUBLIC_CLIENT_CREDENTIALS_MESSAGE,
  PUBLIC_PASSWORD_GRANT_MESSAGE,
  validateClientJwks,
  validateClientName,
  validateListChanges,
  validateNewClient,
  validateRedirectUris,
} from './validation.js';

export { hashClientSecret, isHashedClientSecret, verifyClientSecret } from './secret-hash.js';
export { VerifiedClientSecrets } from './verified-secrets.js';
export { APPLICATION_TYPES, type ApplicationType, ClientValidationError, hasControlCharacters, validateNewClient } from './validation.js';

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
export { ensureInternalClient, internalClientSecret, type InternalClientCredentials } from './internal-clients.js';
export { PreviousClientSecrets, PREVIOUS_SECRETS_COLLECTION } from './previous-secrets.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface NewClient {
  clientId?: string;
  name: string;
  /**
   * `native` for a desktop, mobile or command-line app (RFC 8252): a public client whose loopback redirect URIs
   * match on any port; `web` (the default) otherwise. Fixed at registration.
   */
  applicationType?: ApplicationType;
  grantTypes: string[];
  scopes: string[];
  redirectUris?: string[];
  /** Defaults to client_secret_basic, or none for a native app (which may have no other). */
  authMethod?: ClientAuthMethod;
  /** A caller-chosen secret (development seed only); otherwise one is generated. */
  secret?: string;
  /** Public keys for private_key_jwt. */
  jwks?: { keys: Record<string, unknown>[] };
  /** Audiences this client serves as a resource server: it may introspect tokens issued for them. */
  resourceServerAudiences?: string[];
  /** Roles the client holds itself, carried by its client-credentials tokens. */
  roles?: string[];
  /** Allows the password grant (first-party confidential clients only, refused for a public one; RFC 9700 discourages it). */
  passwordGrant?: boolean;
  /** Tokens for this client need a second factor even for accounts without one enrolled. */
  mfaRequired?: boolean;
  /** Browser origins of a single-page app allowed to call the token endpoints (CORS). */
  webOrigins?: string[];
}

/** Checks client metadata the way the provider will when it loads the client (throws when invalid). */
export type ClientMetadataValidator = (metadata: ClientMetadata) => Promise<void>;

/** What an operator may change on an existing client. */
export interface ClientChanges {
  name?: string;
  grantTypes?: string[];
  scopes?: string[];
  redirectUris?: string[];
  passwordGrant?: boolean;
  mfaRequired?: boolean;
  /** New public keys of a private_key_jwt client (they replace the registered ones). */
  jwks?: unknown;
  /** Audiences served as a resource server, replacing the registered ones; an empty list clears them. */
  resourceServerAudiences?: string[];
  /** The client's own roles, replacing the registered ones; an empty list clears them. */
  roles?: string[];
  /** Browser origins allowed by CORS, replacing the registered ones; an empty list clears them. */
  webOrigins?: string[];
}

/** A client as operators see it: everything but the secret hash. */
export interface ClientView {
  clientId: string;
  name: string;
  applicationType: ApplicationType;
  grantTypes: string[];
  scopes: string[];
  /**
   * Those of `scopes` that no configured API or built-in scope defines (an API removed from RESOURCE_SERVERS):
   * kept in the store, left out of what the client may ask for until an API defines them again.
   */
  unknownScopes: string[];
  redirectUris: string[];
  authMethod: ClientAuthMethod;
  /** The public keys of a private_key_jwt client. */
  jwks: { keys: Record<string, unknown>[] } | undefined;
  passwordGrant: boolean;
  mfaRequired: boolean;
  resourceServerAudiences: string[];
  roles: string[];
  webOrigins: string[];
  createdAt: Date;
}

export interface CreatedClient {
  clientId: string;
  /** Returned once, at creation; only its hash is stored. */
  clientSecret: string | undefined;
}

/** OAuth clients as oidc-provider reads them (the Client model), with secrets stored only as hashes. */
export class ClientRegistry {
  readonly #adapter: StoreAdapter;
  /** Clients the server itself defines and recreates at start (see ensureInternalClient). */
  readonly #internal = new Set<string>();
  readonly #previousSecrets: PreviousClientSecrets;

  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    /** When given, metadata is checked before it is stored, so a stored client always loads. */
    private readonly validate: ClientMetadataValidator = async () => {},
    /** Every change or removal here must evict the client from the provider's cache. */
    private readonly cache?: ClientCache,
    /**
     * The identifiers of the deployment's resource servers. When given, resource_server_audiences may name only
     * these: a token's audience is always one of them, so any other entry (a typo, a trailing slash) would
     * never match and the API would be refused every token it introspects.
     */
    private readonly resourceServerIdentifiers?: readonly string[],
    /**
     * Every scope the deployment defines (provider/client-scopes.ts). When given, views name the stored scopes
     * outside it, and a change to a client that still has such scopes is checked without them.
     */
    private readonly supportedScopes?: ReadonlySet<string>,
  ) {
    this.#adapter = new StoreAdapter('Client', store, secrets);
    this.#previousSecrets = new PreviousClientSecrets(store, secrets);
  }

  get #collection() {
    return this.store.collection<ClientDocument>(collectionName('Client'));
  }

  #checkAudiencesKnown(audiences: readonly string[] | undefined): void {
    const known = this.resourceServerIdentifiers;
    if (!known) return;
    const index = audiences?.findIndex((audience) => !known.includes(audience)) ?? -1;
    if (index < 0) return;
    throw new ClientValidationError(
      ['resourceServerAudiences', index],
      `${audiences?.[index]} is not a resource server of this deployment (known: ${known.join(', ')})`,
    );
  }

  /** Validates and stores a registration; throws ClientValidationError naming the bad field. */
  async create(unvalidated: NewClient): Promise<CreatedClient> {
    const input = validateNewClient(unvalidated);
    this.#checkAudiencesKnown(input.resourceServerAudiences);
    const clientId = input.clientId ?? `client_${randomSecret(12)}`;
    const native = input.applicationType === 'native';
    const authMethod = input.authMethod ?? (native ? 'none' : 'client_secret_basic');
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
    // oidc-provider's own switch: native redirect URI rules at validation, any port for a loopback redirect URI
    // at /auth (RFC 8252 7.3), and consent asked at every authorization (RFC 8252 8.6). Web is its default.
    if (native) metadata.application_type = 'native';
    if (clientSecret) metadata.client_secret = hashClientSecret(this.secrets, clientSecret);
    if (input.jwks) metadata.jwks = input.jwks as AdapterPayload['jwks'];
    if (input.resourceServerAudiences) metadata.resource_server_audiences = input.resourceServerAudiences;
    if (input.roles) metadata.roles = input.roles;
    if (input.passwordGrant !== undefined) metadata[PASSWORD_GRANT_METADATA] = input.passwordGrant;
    if (input.mfaRequired !== undefined) metadata[MFA_REQUIRED_METADATA] = input.mfaRequired;
    if (input.webOrigins) metadata.web_origins = input.webOrigins;
    await this.validate(metadata as ClientMetadata);
    await this.#collection.insert({
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

  async count(): Promise<number> {
    return this.#collection.count({});
  }

  async get(clientId: string): Promise<ClientView | undefined> {
    const document = await this.#collection.findOne({ _id: clientId });
    return document ? this.#toView(document) : undefined;
  }

  /** Clients in creation order, oldest first. */
  async list(options: { limit: number; skip?: number }): Promise<ClientView[]> {
    const documents = await this.#collection.find({}, { sort: { createdAt: 1 }, limit: options.limit, skip: options.skip ?? 0 });
    return documents.map((document) => this.#toView(document));
  }

  /** Applies changes; undefined when the client does not exist. */
  async update(clientId: string, changes: ClientChanges): Promise<ClientView | undefined> {
    const document = await this.#collection.findOne({ _id: clientId });
    if (!document) return undefined;
    const metadata = JSON.parse(document.data) as AdapterPayload;
    // Unknown scopes the client already has stay stored and are left out of the check below, so an edit (a
    // rename, or a scope list copied from GET) does not fail on an API the operator removed. A PATCH of scopes
    // may keep them, or drop them; a scope it adds is checked like any other.
    const storedUnknownScopes = this.#unknownScopes(metadata.scope);
    if (changes.name !== undefined) metadata.client_name = validateClientName(changes.name);
    if (changes.scopes !== undefined) metadata.scope = changes.scopes.join(' ');
    if (changes.redirectUris !== undefined) metadata.redirect_uris = validateRedirectUris(applicationTypeOf(metadata), changes.redirectUris);
    if (changes.grantTypes !== undefined) {
      if (isPublicClientCredentials(changes.grantTypes, metadata.token_endpoint_auth_method)) {
        throw new ClientValidationError(['grantTypes'], PUBLIC_CLIENT_CREDENTIALS_MESSAGE);
      }
      metadata.grant_types = changes.grantTypes;
      metadata.response_types = changes.grantTypes.includes('authorization_code') ? ['code'] : [];
    }
    if (changes.passwordGrant !== undefined) {
      // application_type and token_endpoint_auth_method are fixed at registration: this is the only way in.
      if (isPublicPasswordGrant(changes.passwordGrant, metadata.token_endpoint_auth_method)) {
        throw new ClientValidationError(['passwordGrant'], PUBLIC_PASSWORD_GRANT_MESSAGE);
      }
      metadata[PASSWORD_GRANT_METADATA] = changes.passwordGrant;
    }
    if (changes.mfaRequired !== undefined) metadata[MFA_REQUIRED_METADATA] = changes.mfaRequired;
    if (changes.jwks !== undefined) {
      if (metadata.token_endpoint_auth_method !== 'private_key_jwt') throw new ClientValidationError(['jwks'], JWKS_WITHOUT_KEYS_MESSAGE);
      metadata.jwks = validateClientJwks(changes.jwks) as AdapterPayload['jwks'];
    }
    const lists = validateListChanges({
      ...(changes.resourceServerAudiences !== undefined ? { resourceServerAudiences: changes.resourceServerAudiences } : {}),
      ...(changes.roles !== undefined ? { roles: changes.roles } : {}),
      ...(changes.webOrigins !== undefined ? { webOrigins: changes.webOrigins } : {}),
    });
    this.#checkAudiencesKnown(lists.resourceServerAudiences);
    // An empty list clears the entry, leaving the metadata of a client that never had one.
    const setList = (name: string, value: string[] | undefined) => {
      if (value === undefined) return;
      if (value.length > 0) metadata[name] = value;
      else delete metadata[name];
    };
    setList('resource_server_audiences', lists.resourceServerAudiences);
    setList('roles', lists.roles);
    setList('web_origins', lists.webOrigins);
    await this.validate(withoutScopes(metadata, storedUnknownScopes) as ClientMetadata);
    const updated: ClientDocument = { ...document, data: JSON.stringify(metadata) };
    await this.#collection.replace(updated);
    this.cache?.invalidate(clientId);
    return this.#toView(updated);
  }

  /**
   * Marks a client as one the server defines itself (the Generate Token API's, the dashboard's): operators
   * may look at it and revoke its tokens, but changing it would only break that feature until the next start,
   * when it is recreated as defined.
   */
  markInternal(clientId: string): void {
    this.#internal.add(clientId);
  }

  #unknownScopes(scope: unknown): string[] {
    return this.supportedScopes ? unknownScopesOf(scope, this.supportedScopes) : [];
  }

  #toView(document: OidcDocument): ClientView {
    const view = toView(document);
    return { ...view, unknownScopes: this.#unknownScopes(view.scopes.join(' ')) };
  }

  isInternal(clientId: string): boolean {
    return this.#internal.has(clientId);
  }

  /**
   * Replaces the secret; the new one is returned once. Undefined when the client does not exist. A rotation
   * without grace is the answer to a leak: a secret still in the grace period of an earlier rotation ends
   * too, not only the current one (here at once, on other instances within CLIENT_CACHE_TTL_MS).
   */
  async rotateSecret(clientId: string): Promise<{ clientSecret: string } | 'no-secret' | undefined> {
    return this.#replaceSecret(clientId, async () => {
      await this.#previousSecrets.revoke(clientId);
      return {};
    });
  }

  /**
   * Replaces the secret and keeps the old one working for `graceSeconds` (see PreviousClientSecrets). The new
   * secret is returned once. Undefined when the client does not exist.
   */
  async rotateSecretWithGrace(clientId: string, graceSeconds: number): Promise<{ clientSecret: string; previousValidUntil: Date } | 'no-secret' | undefined> {
    return this.#replaceSecret(clientId, async (previousHash) => ({
      previousValidUntil: await this.#previousSecrets.keep(clientId, previousHash, graceSeconds),
    }));
  }

  /** Stores a new secret's hash, after `settlePrevious` has decided the fate of the current one. */
  async #replaceSecret<T extends object>(
    clientId: string,
    settlePrevious: (previousHash: string) => Promise<T>,
  ): Promise<({ clientSecret: string } & T) | 'no-secret' | undefined> {
    const document = await this.#collection.findOne({ _id: clientId });
    if (!document) return undefined;
    const metadata = JSON.parse(document.data) as AdapterPayload;
    if (typeof metadata.client_secret !== 'string') return 'no-secret';
    const settled = await settlePrevious(metadata.client_secret);
    const clientSecret = randomSecret(32);
    metadata.client_secret = hashClientSecret(this.secrets, clientSecret);
    await this.#collection.replace({ ...document, data: JSON.stringify(metadata) });
    this.cache?.invalidate(clientId);
    return { clientSecret, ...settled };
  }

  /**
   * Deletes the client record; true when it existed. Its tokens are the caller's to revoke. It stops
   * working on this instance at once, on other instances within CLIENT_CACHE_TTL_MS.
   */
  async delete(clientId: string): Promise<boolean> {
    await this.#previousSecrets.revoke(clientId);
    const deleted = await this.#collection.deleteMany({ _id: clientId });
    this.cache?.invalidate(clientId);
    return deleted > 0;
  }
}

function toView(document: OidcDocument): Omit<ClientView, 'unknownScopes'> {
  const metadata = JSON.parse(document.data) as AdapterPayload;
  return {
    clientId: document._id,
    name: typeof metadata.client_name === 'string' ? metadata.client_name : '',
    applicationType: applicationTypeOf(metadata),
    grantTypes: [...(metadata.grant_types ?? [])],
    scopes: typeof metadata.scope === 'string' && metadata.scope ? metadata.scope.split(' ') : [],
    redirectUris: [...(metadata.redirect_uris ?? [])],
    authMethod: (metadata.token_endpoint_auth_method ?? 'client_secret_basic') as ClientAuthMethod,
    jwks: metadata.jwks as ClientView['jwks'],
    passwordGrant: metadata[PASSWORD_GRANT_METADATA] === true,
    mfaRequired: metadata[MFA_REQUIRED_METADATA] === true,
    resourceServerAudiences: stringList(metadata.resource_server_audiences),
    roles: stringList(metadata.roles),
    webOrigins: stringList(metadata.web_origins),
    createdAt: new Date(document.createdAt),
  };
}

function applicationTypeOf(metadata: AdapterPayload): ApplicationType {
  return metadata.application_type === 'native' ? 'native' : 'web';
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}
