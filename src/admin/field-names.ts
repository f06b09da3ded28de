import type { z } from 'zod';

import type { ClientChanges, NewClient } from '../clients/index.js';
import { MFA_REQUIRED_METADATA, PASSWORD_GRANT_METADATA } from '../provider/index.js';
import type { createClientRequest, updateClientRequest } from './schemas.js';

/**
 * How a refusal names a field: as the request body does, an array entry as `name.index` (`redirect_uris.0`),
 * a nested member by its own name after a dot (`jwks.keys.0`), `_` for the body as a whole. The one form for
 * `fields` and `error_description`, whichever layer refused.
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '_';
}

type ClientBodyField = keyof z.input<typeof createClientRequest> | keyof z.input<typeof updateClientRequest>;

/**
 * The request body's name of each field the client registry refuses by its TypeScript name. Complete by type: a
 * field added to NewClient or ClientChanges does not compile until it has its name here.
 */
const CLIENT_BODY_FIELDS: { readonly [K in keyof NewClient | keyof ClientChanges]-?: ClientBodyField | 'client_secret' } = {
  clientId: 'client_id',
  name: 'name',
  applicationType: 'application_type',
  grantTypes: 'grant_types',
  scopes: 'scopes',
  redirectUris: 'redirect_uris',
  authMethod: 'token_endpoint_auth_method',
  // Never in an admin request (the development seed chooses one); named as the response shows it.
  secret: 'client_secret',
  jwks: 'jwks',
  passwordGrant: 'password_grant',
  mfaRequired: 'mfa_required',
  resourceServerAudiences: 'resource_server_audiences',
  roles: 'roles',
  webOrigins: 'web_origins',
};

/** A ClientValidationError's path (`['redirectUris', 0]`) as the request body names it (`redirect_uris.0`). */
export function clientFieldPath(path: readonly PropertyKey[]): string {
  const [first, ...rest] = path;
  const named = typeof first === 'string' && Object.hasOwn(CLIENT_BODY_FIELDS, first) ? CLIENT_BODY_FIELDS[first as keyof typeof CLIENT_BODY_FIELDS] : first;
  return fieldPath(named === undefined ? [] : [named, ...rest]);
}

/**
 * The request body's name of each client metadata member oidc-provider may refuse, by its metadata name
 * (clients/index.ts writes them). response_types is derived from grant_types.
 */
const PROVIDER_METADATA_FIELDS: Readonly<Record<string, ClientBodyField>> = {
  client_id: 'client_id',
  client_name: 'name',
  application_type: 'application_type',
  grant_types: 'grant_types',
  response_types: 'grant_types',
  scope: 'scopes',
  redirect_uris: 'redirect_uris',
  token_endpoint_auth_method: 'token_endpoint_auth_method',
  jwks: 'jwks',
  [PASSWORD_GRANT_METADATA]: 'password_grant',
  [MFA_REQUIRED_METADATA]: 'mfa_required',
  resource_server_audiences: 'resource_server_audiences',
  roles: 'roles',
  web_origins: 'web_origins',
};

/**
 * oidc-provider's invalid_client_metadata names the member first ("scope must only contain ..."): the field as
 * the request body names it and the rest of the sentence, or `_` and the whole sentence when it starts otherwise.
 */
export function providerMetadataRefusal(description: string): { field: string; problem: string } {
  const [, member, rest] = /^([a-z_]+) (.+)$/s.exec(description) ?? [];
  const field = member !== undefined && Object.hasOwn(PROVIDER_METADATA_FIELDS, member) ? PROVIDER_METADATA_FIELDS[member] : undefined;
  return field && rest ? { field, problem: rest } : { field: '_', problem: description };
}
