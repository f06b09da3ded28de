import { clientFieldPath, fieldPath, providerMetadataRefusal } from '../../src/admin/field-names.js';
import { createClientRequest } from '../../src/admin/schemas.js';
import { ClientValidationError, validateNewClient } from '../../src/clients/index.js';

const valid = { name: 'Partner', grantTypes: ['client_credentials'], scopes: ['api:read'] };

/** The path of the ClientValidationError `validate` throws. */
function refusedPath(validate: () => unknown): readonly (string | number)[] {
  try {
    validate();
  } catch (error) {
    if (error instanceof ClientValidationError) return error.path;
    throw error;
  }
  throw new Error('no ClientValidationError thrown');
}

describe('admin API field names', () => {
  test.each([
    ['a client id with the prefix of customer ids', { ...valid, clientId: 'C-lookalike01' }, 'client_id'],
    ['a native app with a secret', { ...valid, applicationType: 'native', grantTypes: ['authorization_code'], redirectUris: ['http://127.0.0.1/cb'], authMethod: 'client_secret_basic' }, 'token_endpoint_auth_method'],
    ['password_grant on a public client', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb'], authMethod: 'none', passwordGrant: true }, 'password_grant'],
    ['an unknown grant type, second in the list', { ...valid, grantTypes: ['client_credentials', 'implicit'] }, 'grant_types.1'],
    ['an http redirect URI off loopback', { ...valid, grantTypes: ['authorization_code'], redirectUris: ['http://app.example/cb'] }, 'redirect_uris.0'],
    ['authorization_code without redirect URIs', { ...valid, grantTypes: ['authorization_code'] }, 'redirect_uris'],
    ['a web origin with a path', { ...valid, webOrigins: ['https://app.example/path'] }, 'web_origins.0'],
    ['an audience that is no URL', { ...valid, resourceServerAudiences: ['not a url'] }, 'resource_server_audiences.0'],
    ['a private key', { ...valid, authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'secret' }] } }, 'jwks.keys.0'],
    ['a short secret (development seed only)', { ...valid, secret: 'short' }, 'client_secret'],
    ['an unknown field', { ...valid, admin: true }, '_'],
  ])("a registry refusal of %s is named as the admin API's body names it", (_label, input, named) => {
    expect(clientFieldPath(refusedPath(() => validateNewClient(input)))).toBe(named);
  });

  test('every name a registry refusal can carry is a field of the create request (or the secret the response shows)', () => {
    const bodyFields = new Set([...Object.keys(createClientRequest.shape), 'client_secret']);
    const internal = ['clientId', 'name', 'applicationType', 'grantTypes', 'scopes', 'redirectUris', 'authMethod', 'secret', 'jwks', 'passwordGrant', 'mfaRequired', 'resourceServerAudiences', 'roles', 'webOrigins'];
    for (const name of internal) expect({ name, named: bodyFields.has(clientFieldPath([name])) }).toEqual({ name, named: true });
  });

  test('a request body path is kept as sent, entries by index', () => {
    expect(fieldPath(['redirect_uris', 0])).toBe('redirect_uris.0');
    expect(fieldPath([])).toBe('_');
  });

  test.each([
    ['scope must only contain Authorization Server supported scope values', 'scopes', 'must only contain Authorization Server supported scope values'],
    ['client_name must be a string', 'name', 'must be a string'],
    ['password_grant_allowed must be a boolean', 'password_grant', 'must be a boolean'],
    ['redirect_uris must only contain web uris', 'redirect_uris', 'must only contain web uris'],
    ['only one proof of possession mechanism can be made required at a time', '_', 'only one proof of possession mechanism can be made required at a time'],
  ])("the provider's %j is named as the body names the field", (description, field, problem) => {
    expect(providerMetadataRefusal(description)).toEqual({ field, problem });
  });
});
