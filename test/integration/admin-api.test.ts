import { MAX_BODY_BYTES } from '../../src/http/errors.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { requestWithHeaderLines } from '../support/host-request.js';
import { DEMO, postForm, startTestServer, STORE_KINDS, testServer } from '../support/server.js';

type Json = Record<string, unknown>;

describe.each(STORE_KINDS)('admin API on the %s store', (storeKind) => {
  let adminUrl: string;
  const running = testServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  beforeAll(async () => {
    if (!running.server.adminUrl) throw new Error('admin API did not start');
    adminUrl = running.server.adminUrl;
  });

  const admin = (method: string, path: string, options?: Parameters<typeof adminRequest>[3]) => adminRequest(adminUrl, method, path, options);
  const clientCredentials = (id: string, secret: string, scope = 'api:read') =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope }, { id, secret });

  describe('authentication', () => {
    // RFC 6750 3.1: no credentials, a bare challenge; a token that is not the admin token, invalid_token; a header
    // that is not `Bearer <token>`, invalid_request. Each answer says Cache-Control: no-store.
    const CHALLENGE = 'Bearer realm="authtoken-admin"';
    const refusalOf = (response: { status: number; body: unknown; headers: Headers }) => ({
      status: response.status,
      error: (response.body as Json).error,
      challenge: response.headers.get('www-authenticate'),
      cacheControl: response.headers.get('cache-control'),
    });

    test('no token is 401 with a bare Bearer challenge: no error code', async () => {
      for (const headers of [{}, { authorization: '' }] as Record<string, string>[]) {
        const response = await admin('GET', '/clients', { token: null, headers });
        expect(refusalOf(response)).toEqual({ status: 401, error: 'unauthorized', challenge: CHALLENGE, cacheControl: 'no-store' });
      }
    });

    test('a wrong token is 401 invalid_token, including one differing only in its last character', async () => {
      const almost = TEST_ADMIN_TOKEN.slice(0, -1) + (TEST_ADMIN_TOKEN.endsWith('A') ? 'B' : 'A');
      const invalidToken = { status: 401, error: 'invalid_token', challenge: expect.stringMatching(/^Bearer realm="authtoken-admin", error="invalid_token"(, error_description="[^"\\]*")?$/), cacheControl: 'no-store' };
      for (const token of ['x'.repeat(40), almost, 'not!base64#token']) {
        expect({ token, ...refusalOf(await admin('GET', '/clients', { token })) }).toEqual({ token, ...invalidToken });
      }
      const create = await admin('POST', '/clients', { token: almost, body: { name: 'x', grant_types: ['client_credentials'] } });
      expect(refusalOf(create)).toEqual(invalidToken);
    });

    test('a malformed Authorization header is 400 invalid_request: no token, two tokens, another scheme, two header lines', async () => {
      const invalidRequest = { status: 400, error: 'invalid_request', challenge: expect.stringMatching(/^Bearer realm="authtoken-admin", error="invalid_request"(, error_description="[^"\\]*")?$/), cacheControl: 'no-store' };
      const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`;
      for (const authorization of ['Bearer', 'Bearer   ', `Bearer ${TEST_ADMIN_TOKEN} ${TEST_ADMIN_TOKEN}`, `Bearer${TEST_ADMIN_TOKEN}`, basic, `Token ${TEST_ADMIN_TOKEN}`]) {
        const response = await admin('GET', '/clients', { token: null, headers: { authorization } });
        expect({ authorization, ...refusalOf(response) }).toEqual({ authorization, ...invalidRequest });
      }
      // Node serves the first of two lines; a proxy in front may have checked the other.
      const twoLines = await requestWithHeaderLines(adminUrl, '/clients', ['authorization', `Bearer ${TEST_ADMIN_TOKEN}`, 'authorization', 'Bearer another-token']);
      expect({ status: twoLines.status, error: (twoLines.body as Json).error, challenge: twoLines.headers['www-authenticate'] }).toEqual({
        status: 400,
        error: 'invalid_request',
        challenge: expect.stringMatching(/^Bearer realm="authtoken-admin", error="invalid_request"/),
      });
    });

    test('the admin token is taken with the scheme in any case and more than one space before it', async () => {
      for (const authorization of [`bearer ${TEST_ADMIN_TOKEN}`, `BEARER  ${TEST_ADMIN_TOKEN}`]) {
        expect({ authorization, status: (await admin('GET', '/clients', { token: null, headers: { authorization } })).status }).toEqual({ authorization, status: 200 });
      }
    });

    test('the admin API is not reachable on the public port', async () => {
      const response = await fetch(`${running.server.baseUrl}/clients`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
      expect(response.status).toBe(404);
    });
  });

  describe('clients', () => {
    test('create shows the secret once; the client gets tokens with it; get and list never show it', async () => {
      const created = await admin('POST', '/clients', { body: { name: 'Partner A', grant_types: ['client_credentials'], scopes: ['api:read'] } });
      expect(created.status).toBe(201);
      const body = created.body as Json;
      expect(body).toMatchObject({ name: 'Partner A', grant_types: ['client_credentials'], scopes: ['api:read'], token_endpoint_auth_method: 'client_secret_basic' });
      const clientId = body.client_id as string;
      const clientSecret = body.client_secret as string;
      expect(clientSecret.length).toBeGreaterThanOrEqual(40);

      expect((await clientCredentials(clientId, clientSecret)).status).toBe(200);
      const fetched = await admin('GET', `/clients/${clientId}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toMatchObject({ client_id: clientId, name: 'Partner A' });
      expect(fetched.body).not.toHaveProperty('client_secret');
      const listed = await admin('GET', '/clients');
      expect((listed.body as Json[]).map((client) => client.client_id)).toEqual(expect.arrayContaining([clientId, DEMO.id]));
      expect(JSON.stringify(listed.body)).not.toContain(clientSecret);
    });

    test('validation errors are 400 with field errors', async () => {
      const response = await admin('POST', '/clients', { body: { name: '', grant_types: [], scopes: ['bad scope'], redirect_uris: ['not a url'], extra: 1 } });
      expect(response.status).toBe(400);
      const fields = (response.body as { fields: Record<string, string[]> }).fields;
      expect(Object.keys(fields)).toEqual(expect.arrayContaining(['name', 'grant_types', 'scopes.0', 'redirect_uris.0', '_']));
    });

    test('metadata the provider would refuse is 400 naming the field, and nothing is stored', async () => {
      const response = await admin('POST', '/clients', { body: { client_id: 'bad-grant', name: 'x', grant_types: ['urn:example:nonsense'], scopes: ['api:read'] } });
      expect(response.status).toBe(400);
      expect(Object.keys((response.body as { fields: Json }).fields)).toEqual(['grant_types.0']);
      expect((await admin('GET', '/clients/bad-grant')).status).toBe(404);

      const unknownScope = await admin('POST', '/clients', { body: { name: 'x', grant_types: ['client_credentials'], scopes: ['api:nonexistent'] } });
      expect(unknownScope.status).toBe(400);
      expect(Object.keys((unknownScope.body as { fields: Json }).fields)).toEqual(['scopes']);
    });

    test('client_credentials for a client without authentication (none) is 400, on create and on update; nothing is stored', async () => {
      // RFC 6749 4.4: confidential clients only. A public client holding this grant hands a token to anyone who knows its id.
      const created = await admin('POST', '/clients', {
        body: { client_id: 'public-cc', name: 'x', grant_types: ['client_credentials'], scopes: ['api:read'], token_endpoint_auth_method: 'none' },
      });
      expect(created.status).toBe(400);
      expect(Object.keys((created.body as { fields: Json }).fields)).toEqual(['grant_types']);
      expect((await admin('GET', '/clients/public-cc')).status).toBe(404);
      const tokenless = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', client_id: 'public-cc', scope: 'api:read' });
      expect(tokenless.status).toBe(401);

      const publicApp = await admin('POST', '/clients', {
        body: { client_id: 'public-app', name: 'App', grant_types: ['authorization_code'], scopes: ['openid'], redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' },
      });
      expect(publicApp.status).toBe(201);
      const updated = await admin('PATCH', '/clients/public-app', { body: { grant_types: ['authorization_code', 'client_credentials'] } });
      expect(updated.status).toBe(400);
      expect(Object.keys((updated.body as { fields: Json }).fields)).toEqual(['grant_types']);
      expect((await admin('GET', '/clients/public-app')).body).toMatchObject({ grant_types: ['authorization_code'] });
    });

    describe('native apps (RFC 8252)', () => {
      const codeFlow = { grant_types: ['authorization_code', 'refresh_token'], scopes: ['openid', 'api:read'] };
      const NATIVE_URIS = ['http://127.0.0.1/callback', 'http://[::1]:8400/callback', 'com.example.app:/callback', 'https://app.example/native-callback'];
      const fieldsOf = (response: { body: unknown }) => Object.keys((response.body as { fields: Json }).fields);

      test('application_type native registers a public client (no secret) with loopback, reverse-domain and claimed https redirect URIs', async () => {
        const created = await admin('POST', '/clients', { body: { client_id: 'native-cli', name: 'CLI', application_type: 'native', redirect_uris: NATIVE_URIS, ...codeFlow } });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: NATIVE_URIS });
        expect(created.body).not.toHaveProperty('client_secret');
        expect((await admin('GET', '/clients/native-cli')).body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none' });
        // Explicitly none is the same; web stays the default.
        const explicit = await admin('POST', '/clients', { body: { name: 'CLI 2', application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: NATIVE_URIS, ...codeFlow } });
        expect(explicit.status).toBe(201);
        const web = await admin('POST', '/clients', { body: { name: 'Web', redirect_uris: ['https://app.example/cb'], ...codeFlow } });
        expect(web.body).toMatchObject({ application_type: 'web', token_endpoint_auth_method: 'client_secret_basic', client_secret: expect.any(String) });
      });

      test.each([
        ['a non-loopback http URI', { redirect_uris: ['http://app.example/callback'] }, 'redirect_uris.0'],
        ['localhost (RFC 8252 8.3: not recommended)', { redirect_uris: ['http://localhost:8400/callback'] }, 'redirect_uris.0'],
        ['a private-use scheme without a period', { redirect_uris: ['myapp:/callback'] }, 'redirect_uris.0'],
        ['a javascript: URI', { redirect_uris: ['javascript:alert(1)'] }, 'redirect_uris.0'],
        ['https on a loopback address', { redirect_uris: ['https://127.0.0.1/callback'] }, 'redirect_uris.0'],
        ['a fragment', { redirect_uris: ['com.example.app:/callback#x'] }, 'redirect_uris.0'],
        ['client_secret_basic', { token_endpoint_auth_method: 'client_secret_basic' }, 'token_endpoint_auth_method'],
        ['client_secret_post', { token_endpoint_auth_method: 'client_secret_post' }, 'token_endpoint_auth_method'],
      ])('a native client with %s is 400 naming the field; nothing is stored', async (_label, change, field) => {
        const response = await admin('POST', '/clients', {
          body: { client_id: 'refused-native', name: 'CLI', application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], ...codeFlow, ...change },
        });
        expect(response.status).toBe(400);
        expect(fieldsOf(response)).toEqual([field]);
        expect((await admin('GET', '/clients/refused-native')).status).toBe(404);
      });

      test('password_grant true on a public client (native, or auth method none) is 400 naming the field, at creation and at PATCH', async () => {
        // The password grant is refused to every public client at the token endpoint: the switch would do nothing.
        const nativeApp = { name: 'CLI', application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], ...codeFlow };
        for (const body of [
          { client_id: 'refused-public', ...nativeApp, password_grant: true },
          { client_id: 'refused-public', ...nativeApp, token_endpoint_auth_method: 'none', password_grant: true },
          { client_id: 'refused-public', name: 'SPA', redirect_uris: ['https://app.example/cb'], ...codeFlow, token_endpoint_auth_method: 'none', password_grant: true },
        ]) {
          const refused = await admin('POST', '/clients', { body });
          expect({ body, status: refused.status, fields: fieldsOf(refused) }).toEqual({ body, status: 400, fields: ['password_grant'] });
          expect(String((refused.body as Json).error_description)).toMatch(/public client/);
          expect((await admin('GET', '/clients/refused-public')).status).toBe(404);
        }

        const native = await admin('POST', '/clients', { body: nativeApp });
        const nativeId = String((native.body as Json).client_id);
        const patched = await admin('PATCH', `/clients/${nativeId}`, { body: { password_grant: true } });
        expect(patched.status).toBe(400);
        expect(fieldsOf(patched)).toEqual(['password_grant']);
        expect((await admin('GET', `/clients/${nativeId}`)).body).toMatchObject({ password_grant: false });
        expect((await admin('PATCH', `/clients/${nativeId}`, { body: { password_grant: false, name: 'CLI 3' } })).status).toBe(200);

        // A confidential client keeps the switch, and cannot be turned public (or native) under it.
        const confidential = await admin('POST', '/clients', { body: { name: 'First party', grant_types: ['refresh_token'], scopes: ['api:read'], password_grant: true } });
        expect(confidential.body).toMatchObject({ password_grant: true, token_endpoint_auth_method: 'client_secret_basic' });
        const confidentialId = String((confidential.body as Json).client_id);
        for (const body of [{ token_endpoint_auth_method: 'none' }, { application_type: 'native' }]) {
          expect((await admin('PATCH', `/clients/${confidentialId}`, { body })).status).toBe(400);
        }
        expect((await admin('GET', `/clients/${confidentialId}`)).body).toMatchObject({ application_type: 'web', token_endpoint_auth_method: 'client_secret_basic', password_grant: true });
      });

      test('a web client keeps its rules: no private-use scheme', async () => {
        const response = await admin('POST', '/clients', { body: { name: 'Web', redirect_uris: ['com.example.app:/callback'], ...codeFlow } });
        expect(response.status).toBe(400);
        expect(fieldsOf(response)).toEqual(['redirect_uris.0']);
      });

      test("PATCH checks redirect_uris by the client's type, and cannot change application_type", async () => {
        const native = await admin('POST', '/clients', { body: { name: 'CLI', application_type: 'native', redirect_uris: ['http://127.0.0.1/callback'], ...codeFlow } });
        const nativeId = String((native.body as Json).client_id);
        const refused = await admin('PATCH', `/clients/${nativeId}`, { body: { redirect_uris: ['http://app.example/callback'] } });
        expect(refused.status).toBe(400);
        expect(fieldsOf(refused)).toEqual(['redirect_uris.0']);
        const changed = await admin('PATCH', `/clients/${nativeId}`, { body: { redirect_uris: ['http://[::1]/callback', 'com.example.cli:/done'] } });
        expect(changed.status).toBe(200);
        expect(changed.body).toMatchObject({ application_type: 'native', redirect_uris: ['http://[::1]/callback', 'com.example.cli:/done'] });
        const retyped = await admin('PATCH', `/clients/${nativeId}`, { body: { application_type: 'web' } });
        expect(retyped.status).toBe(400);
        expect((await admin('GET', `/clients/${nativeId}`)).body).toMatchObject({ application_type: 'native' });

        // A web client's new redirect URIs meet the registration's rule too (http only on loopback).
        const web = await admin('POST', '/clients', { body: { name: 'Web', redirect_uris: ['https://app.example/cb'], ...codeFlow } });
        const webId = String((web.body as Json).client_id);
        for (const uri of ['http://app.example/cb', 'com.example.app:/callback']) {
          const response = await admin('PATCH', `/clients/${webId}`, { body: { redirect_uris: [uri] } });
          expect({ uri, status: response.status, fields: fieldsOf(response) }).toEqual({ uri, status: 400, fields: ['redirect_uris.0'] });
        }
        expect((await admin('GET', `/clients/${webId}`)).body).toMatchObject({ redirect_uris: ['https://app.example/cb'] });
      });
    });

    test('malformed JSON is 400, not 500', async () => {
      const response = await admin('POST', '/clients', { body: '{"name": ' });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    });

    test('a body over the limit is 413 saying so, as on the public port', async () => {
      const response = await admin('POST', '/clients', { body: { name: 'x'.repeat(MAX_BODY_BYTES) } });
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ error: 'invalid_request', error_description: `the request body is too large (the limit is ${MAX_BODY_BYTES} bytes)` });
    });

    test('a body whose Content-Encoding does not match its bytes is 400, not 500', async () => {
      const response = await admin('POST', '/clients', { body: '{"name":"x"}', headers: { 'content-encoding': 'gzip' } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    });

    test('a duplicate client_id is 409', async () => {
      const body = { client_id: 'fixed-id', name: 'Fixed', grant_types: ['client_credentials'], scopes: ['api:read'] };
      expect((await admin('POST', '/clients', { body })).status).toBe(201);
      const again = await admin('POST', '/clients', { body });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ error: 'conflict' });
    });

    test('unknown clients are 404 on every client route', async () => {
      expect((await admin('GET', '/clients/nobody')).status).toBe(404);
      expect((await admin('PATCH', '/clients/nobody', { body: { name: 'x' } })).status).toBe(404);
      expect((await admin('DELETE', '/clients/nobody')).status).toBe(404);
      expect((await admin('POST', '/clients/nobody/secret')).status).toBe(404);
      expect((await admin('POST', '/clients/nobody/revoke-tokens')).status).toBe(404);
      expect((await admin('GET', '/nothing-here')).status).toBe(404);
    });

    test('update changes scopes and the token endpoint follows at once', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Scoped', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const [id, secret] = [created.client_id as string, created.client_secret as string];
      expect((await clientCredentials(id, secret, 'api:write')).status).toBe(400);
      const updated = await admin('PATCH', `/clients/${id}`, { body: { scopes: ['api:read', 'api:write'], name: 'Scoped 2' } });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ name: 'Scoped 2', scopes: ['api:read', 'api:write'] });
      expect((await clientCredentials(id, secret, 'api:write')).status).toBe(200);
      expect((await admin('PATCH', `/clients/${id}`, { body: {} })).status).toBe(400);
    });

    test('update refuses a name with control characters, as create does', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Plain', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const id = created.client_id as string;
      for (const name of ['bell\u0007', 'two\nlines', 'nul\u0000']) {
        const updated = await admin('PATCH', `/clients/${id}`, { body: { name } });
        expect({ name, status: updated.status }).toEqual({ name, status: 400 });
        expect(updated.body).toMatchObject({ error: 'invalid_request', fields: { name: [expect.any(String)] } });
      }
      expect((await admin('GET', `/clients/${id}`)).body).toMatchObject({ name: 'Plain' });
    });

    describe('a refusal names the field as the request body does, in error_description and in fields', () => {
      /** The registry's TypeScript names, which an operator never sent. */
      const INTERNAL_NAMES = /clientId|grantTypes|redirectUris|authMethod|passwordGrant|mfaRequired|webOrigins|resourceServerAudiences|applicationType|client_name|password_grant_allowed/;
      const base = { name: 'Named', grant_types: ['client_credentials'], scopes: ['api:read'] };
      const codeFlow = { name: 'App', grant_types: ['authorization_code'], scopes: ['openid'], redirect_uris: ['https://app.example/cb'] };
      /** The request bodies' fields as the OpenAPI document describes them. */
      let documentedFields: Set<string>;
      beforeAll(async () => {
        const schemas = ((await admin('GET', '/openapi.json', { token: null })).body as { components: { schemas: Record<string, { properties: Json }> } }).components.schemas;
        documentedFields = new Set(['CreateClientRequest', 'UpdateClientRequest'].flatMap((name) => Object.keys(schemas[name]?.properties ?? {})));
      });
      const expectNamed = (response: { status: number; body: unknown }, field: string) => {
        const body = response.body as { error_description: string; fields: Record<string, string[]> };
        expect({ status: response.status, fields: Object.keys(body.fields ?? {}) }).toEqual({ status: 400, fields: [field] });
        expect({ field, documented: documentedFields.has(field.split('.')[0] ?? '') }).toEqual({ field, documented: true });
        expect(body.error_description.startsWith(`${field}: `)).toBe(true);
        // The description says the field's problem; fields has it without the name in front.
        expect(body.error_description).toBe(`${field}: ${body.fields[field]?.[0]}`);
        expect(JSON.stringify(body)).not.toMatch(INTERNAL_NAMES);
      };

      test.each([
        ['a client_id with the prefix of customer ids', { ...base, client_id: 'C-lookalike01' }, 'client_id'],
        ['password_grant on a public client', { ...codeFlow, name: 'SPA', token_endpoint_auth_method: 'none', password_grant: true }, 'password_grant'],
        ['a secret for a native app', { ...codeFlow, name: 'CLI', application_type: 'native', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'client_secret_basic' }, 'token_endpoint_auth_method'],
        ['client_credentials without client authentication', { ...base, token_endpoint_auth_method: 'none' }, 'grant_types'],
        ['an http redirect URI off loopback, second in the list', { ...codeFlow, redirect_uris: ['https://app.example/cb', 'http://app.example/cb'] }, 'redirect_uris.1'],
        ['authorization_code without a redirect URI', { ...codeFlow, redirect_uris: [] }, 'redirect_uris'],
        ['a web origin over http off loopback', { ...base, web_origins: ['http://console.example.com'] }, 'web_origins.0'],
        ['an audience that is no resource server of this deployment', { ...base, resource_server_audiences: ['https://unknown.example.com/api'] }, 'resource_server_audiences.0'],
        ['jwks without private_key_jwt', { ...base, jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] } }, 'jwks'],
        ['a scope no API defines (refused by the provider)', { ...base, scopes: ['api:nonexistent'] }, 'scopes'],
      ])('POST /clients with %s', async (_label, body, field) => {
        expectNamed(await admin('POST', '/clients', { body }), field);
      });

      test('PATCH /clients/:id, for each field the registry checks', async () => {
        const spa = (await admin('POST', '/clients', { body: { ...codeFlow, name: 'SPA', token_endpoint_auth_method: 'none' } })).body as Json;
        const confidential = (await admin('POST', '/clients', { body: base })).body as Json;
        const cases: [Json, Json, string][] = [
          [spa, { password_grant: true }, 'password_grant'],
          [spa, { grant_types: ['authorization_code', 'client_credentials'] }, 'grant_types'],
          [spa, { redirect_uris: ['https://app.example/cb', 'http://app.example/cb'] }, 'redirect_uris.1'],
          [confidential, { name: 'two\nlines' }, 'name'],
          [confidential, { web_origins: ['https://console.example.com', 'https://console.example.com/path'] }, 'web_origins.1'],
          [confidential, { resource_server_audiences: ['https://unknown.example.com/api'] }, 'resource_server_audiences.0'],
          [confidential, { jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] } }, 'jwks'],
          [confidential, { scopes: ['api:read', 'api:nonexistent'] }, 'scopes'],
        ];
        for (const [client, body, field] of cases) {
          const response = await admin('PATCH', `/clients/${String(client.client_id)}`, { body });
          expect({ body, field, status: response.status }).toEqual({ body, field, status: 400 });
          expectNamed(response, field);
        }
      });
    });

    describe('resource_server_audiences, roles and web_origins', () => {
      const introspect = (token: string, caller: { id: string; secret: string }) => postForm(`${running.server.baseUrl}/token/introspection`, { token }, caller);
      const createClient = async (body: Json) => {
        const created = await admin('POST', '/clients', { body: { grant_types: ['client_credentials'], scopes: ['api:read'], ...body } });
        expect(created.status).toBe(201);
        const json = created.body as Json;
        return { id: json.client_id as string, secret: json.client_secret as string, body: json };
      };
      const fieldsOf = (response: { body: unknown }) => Object.keys((response.body as { fields: Json }).fields);

      test('a client registered with resource_server_audiences introspects tokens issued for that audience; without it, or once cleared, it sees {"active":false}', async () => {
        const audience = running.server.config.defaultResource;
        const api = await createClient({ name: 'Orders API', resource_server_audiences: [audience] });
        expect(api.body).toMatchObject({ resource_server_audiences: [audience], roles: [], web_origins: [] });
        expect((await admin('GET', `/clients/${api.id}`)).body).toMatchObject({ resource_server_audiences: [audience] });
        const plain = await createClient({ name: 'Not an API' });
        expect(plain.body).toMatchObject({ resource_server_audiences: [] });

        const token = (await clientCredentials(DEMO.id, DEMO.secret)).body.access_token as string;
        expect((await introspect(token, api)).body).toMatchObject({ active: true, client_id: DEMO.id, aud: audience });
        expect((await introspect(token, plain)).body).toEqual({ active: false });

        const cleared = await admin('PATCH', `/clients/${api.id}`, { body: { resource_server_audiences: [] } });
        expect(cleared.status).toBe(200);
        expect(cleared.body).toMatchObject({ resource_server_audiences: [] });
        expect((await introspect(token, api)).body).toEqual({ active: false });

        const granted = await admin('PATCH', `/clients/${plain.id}`, { body: { resource_server_audiences: [audience] } });
        expect(granted.body).toMatchObject({ resource_server_audiences: [audience] });
        expect((await introspect(token, plain)).body).toMatchObject({ active: true, client_id: DEMO.id });
      });

      test("roles on a client are carried by its client-credentials tokens; PATCH changes and clears them", async () => {
        const partner = await createClient({ name: 'Reporting partner', roles: ['reporter'] });
        expect(partner.body).toMatchObject({ roles: ['reporter'] });
        const rolesInToken = async () => {
          const token = (await clientCredentials(partner.id, partner.secret)).body.access_token as string;
          const answer = (await introspect(token, partner)).body as Json;
          expect(answer).toMatchObject({ active: true, client_id: partner.id });
          return answer.roles;
        };
        expect(await rolesInToken()).toEqual(['reporter']);
        expect((await admin('PATCH', `/clients/${partner.id}`, { body: { roles: ['auditor', 'reporter'] } })).body).toMatchObject({ roles: ['auditor', 'reporter'] });
        expect(await rolesInToken()).toEqual(['auditor', 'reporter']);
        expect((await admin('PATCH', `/clients/${partner.id}`, { body: { roles: [] } })).body).toMatchObject({ roles: [] });
        expect(await rolesInToken()).toEqual([]);
      });

      test('web_origins make CORS answer for those origins at /token; PATCH changes and clears them', async () => {
        const spa = await createClient({
          name: 'Console',
          grant_types: ['authorization_code', 'refresh_token'],
          scopes: ['openid', 'api:read'],
          redirect_uris: ['https://spa.example.com/callback'],
          token_endpoint_auth_method: 'none',
          web_origins: ['https://console.example.com'],
        });
        expect(spa.body).toMatchObject({ web_origins: ['https://console.example.com'] });
        const allowedOrigin = async (origin: string) => {
          const response = await fetch(`${running.server.baseUrl}/token`, {
            method: 'POST',
            headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: spa.id }).toString(),
          });
          await response.arrayBuffer();
          return response.headers.get('access-control-allow-origin');
        };
        expect(await allowedOrigin('https://console.example.com')).toBe('https://console.example.com');
        expect(await allowedOrigin('https://other.example.com')).toBeNull();

        const changed = await admin('PATCH', `/clients/${spa.id}`, { body: { web_origins: ['https://other.example.com', 'http://localhost:5173'] } });
        expect(changed.status).toBe(200);
        expect(changed.body).toMatchObject({ web_origins: ['https://other.example.com', 'http://localhost:5173'] });
        expect(await allowedOrigin('https://console.example.com')).toBeNull();
        expect(await allowedOrigin('https://other.example.com')).toBe('https://other.example.com');
        expect(await allowedOrigin('http://localhost:5173')).toBe('http://localhost:5173');

        expect((await admin('PATCH', `/clients/${spa.id}`, { body: { web_origins: [] } })).body).toMatchObject({ web_origins: [] });
        expect(await allowedOrigin('https://other.example.com')).toBeNull();
      });

      test('bad values are 400 naming the field, on create and on update; nothing is stored or changed', async () => {
        const base = { name: 'Bad', grant_types: ['client_credentials'], scopes: ['api:read'] };
        const cases: [Json, RegExp][] = [
          [{ resource_server_audiences: ['https://unknown.example.com/api'] }, /^resource_server_audiences/],
          [{ resource_server_audiences: ['not a url'] }, /^resource_server_audiences/],
          [{ resource_server_audiences: 'https://one.example.com' }, /^resource_server_audiences/],
          [{ roles: ['has space'] }, /^roles/],
          [{ roles: 'admin' }, /^roles/],
          [{ web_origins: ['https://console.example.com/path'] }, /^web_origins/],
          [{ web_origins: ['http://console.example.com'] }, /^web_origins/],
          [{ web_origins: ['not an origin'] }, /^web_origins/],
        ];
        const existing = await createClient({ name: 'Untouched', roles: ['kept'] });
        for (const [field, named] of cases) {
          const created = await admin('POST', '/clients', { body: { ...base, client_id: 'bad-fields', ...field } });
          expect({ field, status: created.status }).toEqual({ field, status: 400 });
          expect({ field, named: fieldsOf(created) }).toEqual({ field, named: [expect.stringMatching(named)] });
          const updated = await admin('PATCH', `/clients/${existing.id}`, { body: field });
          expect({ field, status: updated.status }).toEqual({ field, status: 400 });
          expect({ field, named: fieldsOf(updated) }).toEqual({ field, named: [expect.stringMatching(named)] });
        }
        const unknownAudience = await admin('POST', '/clients', { body: { ...base, resource_server_audiences: ['https://unknown.example.com/api'] } });
        expect(String((unknownAudience.body as Json).error_description)).toContain('https://unknown.example.com/api');
        expect((await admin('GET', '/clients/bad-fields')).status).toBe(404);
        expect((await admin('GET', `/clients/${existing.id}`)).body).toMatchObject({ roles: ['kept'], resource_server_audiences: [], web_origins: [] });
      });

      test('unknown keys are still 400, on create and on update', async () => {
        const created = await admin('POST', '/clients', { body: { name: 'x', grant_types: ['client_credentials'], scopes: ['api:read'], resourceServerAudiences: [running.server.config.defaultResource] } });
        expect(created.status).toBe(400);
        expect(fieldsOf(created)).toEqual(['_']);
        const existing = await createClient({ name: 'Strict' });
        const updated = await admin('PATCH', `/clients/${existing.id}`, { body: { web_origin: ['https://console.example.com'] } });
        expect(updated.status).toBe(400);
        expect(fieldsOf(updated)).toEqual(['_']);
      });
    });

    test('rotate-secret: the new secret works, the old one no longer does', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Rotating', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const id = created.client_id as string;
      const rotated = await admin('POST', `/clients/${id}/secret`);
      expect(rotated.status).toBe(200);
      const newSecret = (rotated.body as Json).client_secret as string;
      expect(newSecret).not.toBe(created.client_secret);
      expect((await clientCredentials(id, created.client_secret as string)).status).toBe(401);
      expect((await clientCredentials(id, newSecret)).status).toBe(200);
    });

    test('rotate-secret with grace_seconds: both secrets work until the grace ends; bad values are 400', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Graceful', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const id = created.client_id as string;
      for (const grace_seconds of [-1, 1.5, 'soon', 31 * 86400]) {
        const refused = await admin('POST', `/clients/${id}/secret`, { body: { grace_seconds } });
        expect(refused.status).toBe(400);
      }
      expect((await clientCredentials(id, created.client_secret as string)).status).toBe(200);
      const before = Date.now();
      const rotated = await admin('POST', `/clients/${id}/secret`, { body: { grace_seconds: 3600 } });
      expect(rotated.status).toBe(200);
      const body = rotated.body as Json;
      const validUntil = Date.parse(body.previous_secret_valid_until as string);
      expect(validUntil).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(validUntil).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
      expect((await clientCredentials(id, created.client_secret as string)).status).toBe(200);
      expect((await clientCredentials(id, body.client_secret as string)).status).toBe(200);
      // A rotation without grace ends every earlier secret at once, the one in its grace period included.
      const again = (await admin('POST', `/clients/${id}/secret`)).body as Json;
      expect(again).not.toHaveProperty('previous_secret_valid_until');
      expect((await clientCredentials(id, created.client_secret as string)).status).toBe(401);
      expect((await clientCredentials(id, body.client_secret as string)).status).toBe(401);
      expect((await clientCredentials(id, again.client_secret as string)).status).toBe(200);
    });

    test('internal clients (Generate Token API, dashboard) cannot be changed, deleted or rotated, but their tokens can be revoked', async () => {
      for (const id of ['authtoken-compat', 'authtoken-dashboard']) {
        expect((await admin('GET', `/clients/${id}`)).status).toBe(200);
        for (const [method, path, body] of [
          ['PATCH', `/clients/${id}`, { name: 'renamed' }],
          ['DELETE', `/clients/${id}`, undefined],
          ['POST', `/clients/${id}/secret`, undefined],
        ] as const) {
          const refused = await admin(method, path, body ? { body } : undefined);
          expect(refused.status).toBe(409);
          expect(refused.body).toMatchObject({ error: 'conflict' });
          expect(String((refused.body as Json).error_description)).toMatch(/internal client/);
        }
        expect((await admin('POST', `/clients/${id}/revoke-tokens`)).status).toBe(200);
        expect((await admin('GET', `/clients/${id}`)).body).toMatchObject({ client_id: id });
      }
    });

    test("revoke-tokens ends every stored token of that client and no other client's", async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Revoked', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const [id, secret] = [created.client_id as string, created.client_secret as string];
      const tokens = await Promise.all([1, 2].map(async () => (await clientCredentials(id, secret)).body.access_token as string));
      const bystander = (await clientCredentials(DEMO.id, DEMO.secret)).body.access_token as string;
      const revoked = await admin('POST', `/clients/${id}/revoke-tokens`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ client_id: id, revoked_records: 2 });
      for (const token of tokens) {
        const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token }, { id, secret });
        expect(introspection.body).toEqual({ active: false });
      }
      expect((await admin('POST', '/tokens/introspect', { body: { token: bystander } })).body).toMatchObject({ active: true });
    });

    test('delete removes the client and its tokens', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Doomed', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Json;
      const [id, secret] = [created.client_id as string, created.client_secret as string];
      const token = (await clientCredentials(id, secret)).body.access_token as string;
      expect((await admin('DELETE', `/clients/${id}`)).status).toBe(204);
      expect((await admin('GET', `/clients/${id}`)).status).toBe(404);
      expect((await clientCredentials(id, secret)).status).toBe(401);
      expect((await admin('POST', '/tokens/introspect', { body: { token } })).body).toEqual({ active: false });
    });
  });

  describe('tokens', () => {
    test("introspects and revokes any client's opaque token", async () => {
      const token = (await clientCredentials(DEMO.id, DEMO.secret)).body.access_token as string;
      const introspected = await admin('POST', '/tokens/introspect', { body: { token } });
      expect(introspected.status).toBe(200);
      expect(introspected.body).toMatchObject({ active: true, token_type: 'access_token', client_id: DEMO.id, scope: 'api:read' });
      expect(JSON.stringify(introspected.body)).not.toContain(token);

      const revoked = await admin('POST', '/tokens/revoke', { body: { token } });
      expect(revoked.status).toBe(200);
      expect((await postForm(`${running.server.baseUrl}/token/introspection`, { token }, DEMO)).body).toEqual({ active: false });
      expect((await admin('POST', '/tokens/introspect', { body: { token } })).body).toEqual({ active: false });
      expect((await admin('POST', '/tokens/revoke', { body: { token } })).status).toBe(404);
    });

    test('unknown tokens and forged JWTs introspect inactive and cannot be revoked; a missing token is 400', async () => {
      expect((await admin('POST', '/tokens/introspect', { body: { token: 'no-such-token' } })).body).toEqual({ active: false });
      const forged = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
      expect((await admin('POST', '/tokens/introspect', { body: { token: forged } })).body).toEqual({ active: false });
      expect((await admin('POST', '/tokens/revoke', { body: { token: forged } })).status).toBe(404);
      const missing = await admin('POST', '/tokens/revoke', { body: {} });
      expect(missing.status).toBe(400);
      expect((missing.body as { fields: Json }).fields).toHaveProperty('token');
    });
  });

  describe('audit', () => {
    test('admin actions are recorded with IP and user agent, and filtered by action and client', async () => {
      const created = (await admin('POST', '/clients', { body: { name: 'Audited', grant_types: ['client_credentials'], scopes: ['api:read'] }, headers: { 'user-agent': 'audit-test/1' } })).body as Json;
      const id = created.client_id as string;
      await admin('POST', `/clients/${id}/secret`);
      const events = await admin('GET', `/audit-events?client_id=${encodeURIComponent(id)}`);
      expect(events.status).toBe(200);
      const list = events.body as Json[];
      expect(list.map((event) => event.action)).toEqual(['admin.client.secret_rotated', 'admin.client.created']);
      expect(list[1]).toMatchObject({ actor: { type: 'admin' }, outcome: 'success', ip: '127.0.0.1', user_agent: 'audit-test/1', client_id: id });
      const byAction = (await admin('GET', '/audit-events?action=admin.client.secret_rotated&limit=500')).body as Json[];
      expect(byAction.length).toBeGreaterThanOrEqual(1);
      expect(byAction.every((event) => event.action === 'admin.client.secret_rotated')).toBe(true);
      expect(JSON.stringify(list)).not.toContain(created.client_secret as string);
    });

    test('a bad filter is 400 with the field named', async () => {
      const response = await admin('GET', '/audit-events?limit=0&before=yesterday');
      expect(response.status).toBe(400);
      expect(Object.keys((response.body as { fields: Json }).fields).sort()).toEqual(['before', 'limit']);
    });
  });

  test('serves an OpenAPI 3.1 document describing every route, without authentication', async () => {
    const response = await admin('GET', '/openapi.json', { token: null });
    expect(response.status).toBe(200);
    const document = response.body as { openapi: string; paths: Json; components: { schemas: Record<string, Json> } };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/clients', '/clients/{clientId}', '/clients/{clientId}/secret', '/clients/{clientId}/revoke-tokens', '/tokens/introspect', '/tokens/revoke', '/audit-events']),
    );
    expect(document.components.schemas.CreateClientRequest).toMatchObject({ type: 'object', required: expect.arrayContaining(['name', 'grant_types']) });
    for (const schema of ['CreateClientRequest', 'UpdateClientRequest', 'Client']) {
      expect({ schema, properties: Object.keys(document.components.schemas[schema]?.properties as Json) }).toEqual({
        schema,
        properties: expect.arrayContaining(['resource_server_audiences', 'roles', 'web_origins']),
      });
    }
    // Chosen at creation only (see PATCH).
    for (const schema of ['CreateClientRequest', 'Client']) {
      expect(document.components.schemas[schema]?.properties).toMatchObject({ application_type: { enum: ['web', 'native'] } });
    }
    expect(document.components.schemas.UpdateClientRequest?.properties).not.toHaveProperty('application_type');
    // What a registration with password_grant may not be.
    for (const schema of ['CreateClientRequest', 'UpdateClientRequest']) {
      expect(document.components.schemas[schema]?.properties).toMatchObject({ password_grant: { description: expect.stringMatching(/public client.*native/) } });
    }
  });
});

describe('admin API with JWT access tokens', () => {
  const running = testServer({ store: 'memory', env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ACCESS_TOKEN_FORMAT: 'jwt' } });

  test("introspects and revokes any client's JWT access token; the public endpoint agrees", async () => {
    const token = (await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO)).body.access_token as string;
    expect(token.split('.')).toHaveLength(3);
    const admin = (path: string) => adminRequest(running.server.adminUrl ?? '', 'POST', path, { body: { token } });
    expect((await admin('/tokens/introspect')).body).toMatchObject({ active: true, token_type: 'access_token', client_id: DEMO.id, scope: 'api:read' });
    expect((await admin('/tokens/revoke')).status).toBe(200);
    expect((await postForm(`${running.server.baseUrl}/token/introspection`, { token }, DEMO)).body).toMatchObject({ active: false });
    expect((await admin('/tokens/introspect')).body).toEqual({ active: false });
    expect((await admin('/tokens/revoke')).status).toBe(404);
  });

  test("revoke-tokens on a client reaches its JWTs", async () => {
    const token = (await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO)).body.access_token as string;
    const revoked = await adminRequest(running.server.adminUrl ?? '', 'POST', `/clients/${DEMO.id}/revoke-tokens`);
    expect(revoked.body).toMatchObject({ jwt_access_tokens: 'revoked' });
    expect((await postForm(`${running.server.baseUrl}/token/introspection`, { token }, DEMO)).body).toMatchObject({ active: false });
  });
});

test('without ADMIN_TOKEN the admin API does not start, and the server says so', async () => {
  const server = await startTestServer({ store: 'memory' });
  try {
    expect(server.adminUrl).toBeUndefined();
    expect(server.logs.lines.filter((line) => line.includes('ADMIN_TOKEN is not set'))).toHaveLength(1);
  } finally {
    await server.close();
  }
});
