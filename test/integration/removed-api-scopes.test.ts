import { decodeJwt } from 'jose';

import { supportedScopes } from '../../src/provider/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { postForm, startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';

const REPORTS_API = 'https://reports.example/api';

const BASE_ENV = { ADMIN_TOKEN: TEST_ADMIN_TOKEN, ACCESS_TOKEN_FORMAT: 'jwt' };
/** The reports API defines `reports:read` alone: no other API or built-in scope has it. */
const WITH_REPORTS = { ...BASE_ENV, RESOURCE_SERVERS: JSON.stringify([{ identifier: REPORTS_API, scopes: ['reports:read'], format: 'jwt', signingAlg: 'ES256' }]) };
const WITHOUT_REPORTS = { ...BASE_ENV, RESOURCE_SERVERS: '[]' };

type Credentials = { id: string; secret: string };
const PASSWORD = 'correct horse battery staple';
const WEB_APP_REDIRECT_URI = 'https://app.example/callback';

describe.each(STORE_KINDS)('a client allowed a scope of an API removed from RESOURCE_SERVERS, on the %s store', (storeKind) => {
  // One store through a restart with the API removed, then one with it restored, as an operator would do it.
  let server: TestServer;
  let issuer: Record<string, string>;
  /** Allowed `api:read` (the default API's) and `reports:read` (the removed API's only). */
  let partner: Credentials;
  /** The same scopes; the operator edits this one through the admin API while the API is gone. */
  let edited: Credentials;
  /** Allowed only `reports:read`: nothing of it remains while the API is gone. */
  let reportsOnly: Credentials;
  /** A first-party app on the password grant, allowed both APIs' scopes, and its refresh token for `api:read`. */
  let app: Credentials;
  let appRefreshToken: string;
  /** A web app on the code flow, allowed both APIs' scopes. */
  let webAppId: string;

  /** A client-credentials request; `reports:read` names its API, which is not the default one. */
  const clientCredentials = (client: Credentials, scope: string) =>
    postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope, ...(scope.includes('reports:') ? { resource: REPORTS_API } : {}) }, client);
  const admin = (method: string, path: string, body?: unknown) => adminRequest(String(server.adminUrl), method, path, body === undefined ? {} : { body });
  const restart = async (env: Record<string, string>) => {
    const store = server.store;
    await server.close({ keepStore: true });
    server = await startTestServer({ store: storeKind, env: { ...env, ...issuer }, reuseStore: store });
  };

  beforeAll(async () => {
    server = await startTestServer({ store: storeKind, env: WITH_REPORTS });
    issuer = { ISSUER: server.config.issuer };
    const register = async (name: string, scopes = ['api:read', 'reports:read']): Promise<Credentials> => {
      const created = await server.application.clients.create({ name, grantTypes: ['client_credentials'], scopes });
      return { id: created.clientId, secret: String(created.clientSecret) };
    };
    partner = await register('Partner');
    edited = await register('Edited partner');
    reportsOnly = await register('Reports-only partner', ['reports:read']);
    expect((await clientCredentials(partner, 'reports:read')).status).toBe(200);
    expect((await clientCredentials(reportsOnly, 'reports:read')).status).toBe(200);

    const created = await server.application.clients.create({
      name: 'First-party app',
      grantTypes: ['refresh_token'],
      scopes: ['offline_access', 'api:read', 'reports:read'],
      passwordGrant: true,
    });
    app = { id: created.clientId, secret: String(created.clientSecret) };
    webAppId = (
      await server.application.clients.create({
        name: 'Web app',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [WEB_APP_REDIRECT_URI],
        scopes: ['openid', 'api:read', 'reports:read'],
      })
    ).clientId;
    const email = `removed-api-${storeKind}@example.com`;
    await server.application.accounts.create({ email, password: PASSWORD });
    const signedIn = await postForm(`${server.baseUrl}/token`, { grant_type: 'password', username: email, password: PASSWORD, scope: 'api:read offline_access' }, app);
    expect(signedIn.status).toBe(200);
    appRefreshToken = String(signedIn.body.refresh_token);

    await restart(WITHOUT_REPORTS);
  });
  afterAll(async () => {
    await server.close();
  });

  test('the client still gets tokens for its remaining scopes and can introspect them', async () => {
    const issued = await clientCredentials(partner, 'api:read');
    expect(issued.status).toBe(200);
    const token = String(issued.body.access_token);
    expect(decodeJwt(token)).toMatchObject({ client_id: partner.id, scope: 'api:read' });
    const introspected = await postForm(`${server.baseUrl}/token/introspection`, { token }, partner);
    expect(introspected.status).toBe(200);
    expect(introspected.body).toMatchObject({ active: true, client_id: partner.id, scope: 'api:read' });
  });

  test('a user-grant client refreshes its token for the remaining API', async () => {
    const refreshed = await postForm(`${server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: appRefreshToken }, app);
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(String(refreshed.body.access_token))).toMatchObject({ client_id: app.id, scope: 'api:read' });
  });

  test('a code-flow client starts an authorization for its remaining scopes', async () => {
    const query = new URLSearchParams({
      client_id: webAppId,
      response_type: 'code',
      scope: 'openid api:read',
      redirect_uri: WEB_APP_REDIRECT_URI,
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const started = await fetch(`${server.baseUrl}/auth?${query.toString()}`, { redirect: 'manual' });
    expect(started.status).toBe(303);
    expect(new URL(String(started.headers.get('location')), server.baseUrl).pathname).toMatch(/^\/interaction\//);
  });

  test('asking for the removed scope is invalid_scope, alone or beside a remaining one; naming the removed API is invalid_target', async () => {
    for (const scope of ['reports:read', 'api:read reports:read']) {
      const refused = await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope }, partner);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_scope', scope: 'reports:read' });
    }
    const unknownApi = await clientCredentials(partner, 'reports:read');
    expect(unknownApi.status).toBe(400);
    expect(unknownApi.body.error).toBe('invalid_target');
  });

  test('loading the client logs one warning naming it and the unknown scope, not one per request, and never its secret', async () => {
    // The tests above made several requests of this client within CLIENT_CACHE_TTL_MS: it was loaded once.
    const warnings = server.logs.lines.filter((line) => line.includes('reports:read') && line.includes(partner.id));
    expect(warnings).toHaveLength(1);
    const warning = JSON.parse(String(warnings[0])) as Record<string, unknown>;
    expect(warning).toMatchObject({ level: 40, clientId: partner.id, unknownScopes: ['reports:read'] });
    expect(server.logs.text).not.toContain(partner.secret);
  });

  test('a client left with none of its scopes is not loaded (invalid_client), never one allowed every scope', async () => {
    // oidc-provider reads a client without `scope` as allowed every scope: leaving all of them out would do that.
    for (const scope of ['api:read', 'reports:read', '']) {
      const refused = await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, reportsOnly);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
    }
    expect(server.logs.lines.some((line) => line.includes(reportsOnly.id) && line.includes('client not loaded'))).toBe(true);
    const shown = await admin('GET', `/clients/${reportsOnly.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ scopes: ['reports:read'], unknown_scopes: ['reports:read'] });
    // The operator's fix: give it a scope this deployment has. It works at once.
    const fixed = await admin('PATCH', `/clients/${reportsOnly.id}`, { scopes: ['reports:read', 'api:read'] });
    expect(fixed.status).toBe(200);
    expect((await clientCredentials(reportsOnly, 'api:read')).status).toBe(200);
  });

  test('the scopes the server checks clients against are those discovery lists', async () => {
    const discovery = await fetch(`${server.baseUrl}/.well-known/openid-configuration`);
    const { scopes_supported: listed } = (await discovery.json()) as { scopes_supported: string[] };
    expect([...listed].sort()).toEqual(supportedScopes(server.config).sort());
    expect(listed).not.toContain('reports:read');
  });

  test('the admin API shows the stored scopes and which of them this deployment does not define', async () => {
    const shown = await admin('GET', `/clients/${partner.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ scopes: ['api:read', 'reports:read'], unknown_scopes: ['reports:read'] });
    const listed = await admin('GET', '/clients?limit=500');
    expect(listed.status).toBe(200);
    expect((listed.body as { client_id: string; unknown_scopes: string[] }[]).find((client) => client.client_id === partner.id)?.unknown_scopes).toEqual(['reports:read']);
  });

  test('an unrelated PATCH succeeds and keeps the stored scope; a PATCH may keep it but not add another unknown one', async () => {
    const renamed = await admin('PATCH', `/clients/${edited.id}`, { name: 'Renamed partner' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Renamed partner', scopes: ['api:read', 'reports:read'], unknown_scopes: ['reports:read'] });
    expect((await clientCredentials(edited, 'api:read')).status).toBe(200);

    // The list as GET shows it, plus a scope: what an operator copying the list would send.
    const kept = await admin('PATCH', `/clients/${edited.id}`, { scopes: ['api:read', 'reports:read', 'openid'] });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ scopes: ['api:read', 'reports:read', 'openid'], unknown_scopes: ['reports:read'] });

    const typo = await admin('PATCH', `/clients/${edited.id}`, { scopes: ['api:read', 'reports:read', 'reprots:read'] });
    expect(typo.status).toBe(400);
    expect(typo.body).toMatchObject({ error: 'invalid_request', fields: { scopes: [expect.stringContaining('scope')] } });

    const removed = await admin('PATCH', `/clients/${edited.id}`, { scopes: ['api:read'] });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ scopes: ['api:read'], unknown_scopes: [] });
    expect((await clientCredentials(edited, 'api:read')).status).toBe(200);
  });

  test('after the API is restored, the untouched client gets its scope again; the one whose scope was removed does not', async () => {
    await restart(WITH_REPORTS);
    const issued = await clientCredentials(partner, 'reports:read');
    expect(issued.status).toBe(200);
    expect(decodeJwt(String(issued.body.access_token))).toMatchObject({ aud: REPORTS_API, scope: 'reports:read' });
    expect((await admin('GET', `/clients/${partner.id}`)).body).toMatchObject({ scopes: ['api:read', 'reports:read'], unknown_scopes: [] });
    const refused = await clientCredentials(edited, 'reports:read');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_scope');
    expect(server.logs.lines.some((line) => line.includes('unknownScopes'))).toBe(false);
  });
});
