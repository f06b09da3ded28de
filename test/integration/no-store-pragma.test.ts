import { GENERATE_TOKEN_PATH } from '../../src/generate-token-api/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createCustomer, signedInDashboardClient } from '../support/dashboard.js';
import { DEMO, postForm, STORE_KINDS, testServer } from '../support/server.js';

/** What RFC 6749 5.1 asks of an answer carrying a token or a credential. */
const NOT_CACHED = { cacheControl: 'no-store', pragma: 'no-cache' };
const cachingOf = (headers: Headers) => ({ cacheControl: headers.get('cache-control'), pragma: headers.get('pragma') });
/** An API whose AuthTokens are JWTs, which our own code answers for at revocation (jwt-token-endpoints.ts). */
const JWT_API = 'https://reports.example/api';

/**
 * RFC 6749 5.1: answers carrying tokens or credentials say `Cache-Control: no-store` and `Pragma: no-cache`.
 * oidc-provider's endpoints, ours beside them, the dashboard and the admin API all do, success and error alike.
 */
describe.each(STORE_KINDS)('no-store answers also carry Pragma: no-cache (%s store)', (storeKind) => {
  const running = testServer({
      store: storeKind,
      env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, RESOURCE_SERVERS: JSON.stringify([{ identifier: JWT_API, scopes: ['api:read'], format: 'jwt' }]) },
    });

  test('the token endpoint: a client_credentials token, and its errors', async () => {
    const issued = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
    expect(issued.status).toBe(200);
    expect(cachingOf(issued.headers)).toEqual(NOT_CACHED);
    const badRequest = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'urn:example:nonsense' }, DEMO);
    expect(badRequest.status).toBe(400);
    expect(cachingOf(badRequest.headers)).toEqual(NOT_CACHED);
    const badClient = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials' }, { id: DEMO.id, secret: 'not-the-secret' });
    expect(badClient.status).toBe(401);
    expect(cachingOf(badClient.headers)).toEqual(NOT_CACHED);
  });

  test('introspection, the MFA challenge and the Generate Token API', async () => {
    const issued = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(issued.body.access_token) }, DEMO);
    expect(introspection.body).toMatchObject({ active: true });
    expect(cachingOf(introspection.headers)).toEqual(NOT_CACHED);
    const challenge = await postForm(`${running.server.baseUrl}/mfa/challenge`, { channel: 'email' }, DEMO);
    expect(challenge.status).toBe(400);
    expect(cachingOf(challenge.headers)).toEqual(NOT_CACHED);
    const generated = await postForm(`${running.server.baseUrl}${GENERATE_TOKEN_PATH}`, { customerId: '' });
    expect(generated.status).toBe(400);
    expect(cachingOf(generated.headers)).toEqual(NOT_CACHED);
  });

  // RFC 7009 asks nothing of caches, but an answer about a credential is kept by none, as at introspection;
  // oidc-provider's revocation route, unlike its introspection route, set no Cache-Control at all.
  test("revocation: its 200 for an opaque token and for a JWT, its refusal of another client's token, invalid_client", async () => {
    const revocation = `${running.server.baseUrl}/token/revocation`;
    const opaque = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
    const jwt = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read', resource: JWT_API }, DEMO);
    expect(String(jwt.body.access_token).split('.')).toHaveLength(3);
    const other = await running.server.application.clients.create({ name: 'Other partner', grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const otherClient = { id: other.clientId, secret: String(other.clientSecret) };
    const answers = {
      opaque: await postForm(revocation, { token: String(opaque.body.access_token) }, DEMO),
      jwt: await postForm(revocation, { token: String(jwt.body.access_token) }, DEMO),
      othersOpaque: await postForm(revocation, { token: String((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, otherClient)).body.access_token) }, DEMO),
      othersJwt: await postForm(revocation, { token: String((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read', resource: JWT_API }, otherClient)).body.access_token) }, DEMO),
      badClient: await postForm(revocation, { token: 'anything' }, { id: DEMO.id, secret: 'not-the-secret' }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([name, answer]) => [name, { status: answer.status, ...cachingOf(answer.headers) }]))).toEqual({
      opaque: { status: 200, ...NOT_CACHED },
      jwt: { status: 200, ...NOT_CACHED },
      othersOpaque: { status: 400, ...NOT_CACHED },
      othersJwt: { status: 400, ...NOT_CACHED },
      badClient: { status: 401, ...NOT_CACHED },
    });
  });

  test('the admin API answer showing a new client secret', async () => {
    const created = await adminRequest(running.server.adminUrl as string, 'POST', '/clients', { body: { name: 'Pragma partner', grant_types: ['client_credentials'], scopes: ['api:read'] } });
    expect(created.status).toBe(201);
    expect(cachingOf(created.headers)).toEqual(NOT_CACHED);
  });

  test('the admin API refusing a missing or wrong bearer token, as its other errors', async () => {
    // The 401 is thrown by requireAdminToken and answered by the admin error boundary, which says no-store.
    for (const token of [null, 'w'.repeat(43)]) {
      const refused = await adminRequest(running.server.adminUrl as string, 'GET', '/clients', { token });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(cachingOf(refused.headers)).toEqual(NOT_CACHED);
    }
    const missing = await adminRequest(running.server.adminUrl as string, 'GET', '/clients/no-such-client');
    expect(missing.status).toBe(404);
    expect(cachingOf(missing.headers)).toEqual(NOT_CACHED);
  });

  test('a dashboard page', async () => {
    const client = await signedInDashboardClient(running.server.baseUrl, await createCustomer(running.server, { totp: false }));
    const security = await client.request('/dashboard/security');
    expect(security.status).toBe(200);
    expect(cachingOf(security.headers)).toEqual(NOT_CACHED);
  });

  test('an answer that may be cached gets no Pragma', async () => {
    const discovery = await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('cache-control') ?? '').not.toContain('no-store');
    expect(discovery.headers.get('pragma')).toBeNull();
  });
});
