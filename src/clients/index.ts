import type { AdapterPayload } from 'oidc-provider';

import { collectionName, StoreAdapter, type OidcDocument } from '../provider/adapter.js';
import { MFA_REQUIRED_METADATA, PASSWORD_GRANT_METADATA } from '../provider/grants/user-grant-policy.js';
import { randomSecret, type ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { hashClientSecret } from './secret-hash.js';

export { hashClientSecret, isHashedClientSecret, verifyClientSecret } from './secret-hash.js';

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
  /** Audiences this client serves as a resource server: it may introspect tokens issued for them. */
  resourceServerAudiences?: string[];
  /** Roles the client holds itself, carried by its client-credentials tokens. */
  roles?: string[];
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
  ) {
    this.#adapter = new StoreAdapter('Client', store, secrets);
  }

  async create(input: NewClient): Promise<CreatedClient> {
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
    if (input.resourceServerAudiences) metadata.resource_server_audiences = input.resourceServerAudiences;
    if (input.roles) metadata.roles = input.roles;
    if (input.passwordGrant !== undefined) metadata[PASSWORD_GRANT_METADATA] = input.passwordGrant;
    if (input.mfaRequired !== undefined) metadata[MFA_REQUIRED_METADATA] = input.mfaRequired;
    await this.store.collection<OidcDocument>(collectionName('Client')).insert({
      _id: clientId,
      data: JSON.stringify(metadata),
      createdAt: new Date(),
    });
    return { clientId, clientSecret };
  }

  async find(clientId: string): Promise<AdapterPayload | undefined> {
    return this.#adapter.find(clientId);
  }

  async count(): Promise<number> {
    return this.store.collection(collectionName('Client')).count({});
  }
}
