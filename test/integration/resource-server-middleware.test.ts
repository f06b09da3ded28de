import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';

import { createProtectedApi } from '../../examples/protected-api/app.js';
import { requireAuthToken, type ResourceServerOptions } from '../../src/resource-server/index.js';
import { requestWithHeaderLines } from '../support/host-request.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'correct horse battery staple';
/** A second API of the deployment, which the example API's own client also serves as a resource server. */
const REPORTS_API = 'https://reports.example/api';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  challenge: string | null;
}

/** The example API (examples/protected-api) on 127.0.0.1, port 0, in front of the real server. */
async function startExampleApi(server: TestServer, credentials: { clientId: string; clientSecret: string }, revocationCheckSeconds: number) {
  const api = createProtectedApi({
    issuer: server.config.issuer,
    introspection: credentials,
    audience: server.config.defaultResource,
    revocationCheckSeconds,
  });
  const listening: Server = await new Promise((resolve) => {
    const started = api.listen(0, '127.0.0.1', () => resolve(started));
  });
  const address = listening.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    async get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
      const response = await fetch(`${baseUrl}${path}`, { headers });
      return { status: response.status, body: (await response.json()) as Record<string, unknown>, challenge: response.headers.get('www-authenticate') };
    },
    /** With raw header lines (node:http), so one header can be sent twice, which fetch would merge. */
    async getWithHeaderLines(path: string, lines: string[]): Promise<{ status: number; challenge: string | string[] | undefined }> {
      const answer = await requestWithHeaderLines(baseUrl, path, lines);
      return { status: answer.status, challenge: answer.headers['www-authenticate'] };
    },
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}

describe.each(['opaque', 'jwt'])('resource-server middleware (example API) with %s AuthTokens', (format) => {
  let server: TestServer;
  let api: Awaited<ReturnType<typeof startExampleApi>>;
  let uncachedApi: Awaited<ReturnType<typeof startExampleApi>>;

  beforeAll(async () => {
    server = await startTestServer({
      store: 'memory',
      env: {
        ACCESS_TOKEN_FORMAT: format,
        SIGNIN_FREE_FAILURES: '50',
        ARGON2_MEMORY_KIB: '19456',
        RESOURCE_SERVERS: JSON.stringify([{ identifier: REPORTS_API, scopes: ['reports:read'], format }]),
      },
    });
    const created = await server.application.clients.create({
      name: 'Example API',
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
      resourceServerAudiences: [server.config.defaultResource, REPORTS_API],
    });
    const credentials = { clientId: created.clientId, clientSecret: String(created.clientSecret) };
    api = await startExampleApi(server, credentials, 30);
    uncachedApi = await startExampleApi(server, credentials, 0);
  });
  afterAll(async () => {
    await api.close();
    await uncachedApi.close();
    await server.close();
  });

  /** A fresh user and an AuthToken from the Generate Token API. */
  async function userToken(scope: string, roles: string[] = ['tester']): Promise<{ token: string; customerId: string }> {
    const email = `user-${randomBytes(4).toString('hex')}@example.com`;
    const account = await server.application.accounts.create({ email, password: PASSWORD, roles });
    const response = await fetch(`${server.baseUrl}/auth/v1/authentication/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: account.customerId, key: Buffer.from(PASSWORD).toString('base64'), email, country: 'DE', scope }),
    });
    const body = (await response.json()) as { token: string };
    expect(response.status).toBe(200);
    return { token: body.token, customerId: account.customerId };
  }

  test('the token has the configured format', async () => {
    const { token } = await userToken('api:read');
    expect(token.split('.').length === 3).toBe(format === 'jwt');
  });

  test('no token: 401 with a bare Bearer challenge (RFC 6750 3.1), and the DPoP one beside it (RFC 9449 7.1)', async () => {
    const answer = await api.get('/hello');
    expect(answer.status).toBe(401);
    // Two WWW-Authenticate fields, which fetch joins: the Bearer challenge is unchanged and first.
    expect(answer.challenge).toBe('Bearer realm="authtoken", DPoP realm="authtoken", algs="ES256 EdDSA Ed25519 PS256 RS256"');
  });

  test('a Generate Token API token is accepted from Authorization: Bearer and from the authToken header', async () => {
    const { token, customerId } = await userToken('api:read');
    const bearer = await api.get('/hello', { authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(200);
    expect(bearer.body).toEqual({ hello: customerId, scopes: ['api:read'] });
    expect((await api.get('/hello', { authToken: token })).status).toBe(200);
  });

  test('an unknown or tampered token: 401 invalid_token', async () => {
    const { token } = await userToken('api:read');
    const tampered = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    for (const presented of [tampered, 'not-a-token-we-issued']) {
      const answer = await api.get('/hello', { authorization: `Bearer ${presented}` });
      expect(answer.status).toBe(401);
      expect(answer.challenge).toMatch(/^Bearer realm="authtoken", error="invalid_token"/);
    }
  });

  test('malformed presentation: 400 invalid_request', async () => {
    const { token } = await userToken('api:read');
    const two = await api.get('/hello', { authorization: `Bearer ${token}`, authToken: 'another-token' });
    expect(two.status).toBe(400);
    expect(two.challenge).toMatch(/error="invalid_request"/);
    expect((await api.get('/hello', { authorization: 'Bearer a b' })).status).toBe(400);
  });

  // Node keeps only the first of two Authorization lines: the API must not pick one of two credentials
  // (a proxy in front may have authorized the other).
  test('two Authorization headers: 400 invalid_request, not the first one served', async () => {
    const { token } = await userToken('api:read');
    const answer = await api.getWithHeaderLines('/hello', ['authorization', `Bearer ${token}`, 'authorization', 'Bearer another-token']);
    expect(answer.status).toBe(400);
    expect(answer.challenge).toMatch(/error="invalid_request"/);
  });

  test('a missing scope: 403 insufficient_scope naming the scope; a missing role: 403 as well', async () => {
    const writer = await userToken('api:write');
    const noScope = await api.get('/hello', { authorization: `Bearer ${writer.token}` });
    expect(noScope.status).toBe(403);
    expect(noScope.challenge).toMatch(/error="insufficient_scope"/);
    expect(noScope.challenge).toMatch(/scope="api:read"/);

    const reader = await userToken('api:read', ['tester']);
    const noRole = await api.get('/admin', { authorization: `Bearer ${reader.token}` });
    expect(noRole.status).toBe(403);
    expect(String(noRole.body.error_description)).toMatch(/role admin/);
    // The scope attribute names a scope to ask for; the token already has it, a role is what it lacks.
    expect(noRole.challenge).toMatch(/error="insufficient_scope"/);
    expect(noRole.challenge).not.toMatch(/scope="/);
    const admin = await userToken('api:read', ['admin']);
    expect((await api.get('/admin', { authorization: `Bearer ${admin.token}` })).status).toBe(200);
  });

  test('a token for another of our APIs, which this API’s client may introspect: 401 invalid_token', async () => {
    const partner = await server.application.clients.create({ name: 'Reports partner', grantTypes: ['client_credentials'], scopes: ['reports:read', 'api:read'] });
    const tokenFor = async (resource: string, scope: string) => {
      const response = await fetch(`${server.baseUrl}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${partner.clientId}:${String(partner.clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
      });
      expect(response.status).toBe(200);
      return String(((await response.json()) as { access_token: string }).access_token);
    };
    const reports = await tokenFor(REPORTS_API, 'reports:read');
    const answer = await uncachedApi.get('/hello', { authorization: `Bearer ${reports}` });
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/error="invalid_token"/);
    expect(String(answer.body.error_description)).toMatch(format === 'jwt' ? /invalid or expired/ : /not meant for this API/);
    // The same partner's token for this API is taken.
    const own = await tokenFor(server.config.defaultResource, 'api:read');
    expect((await uncachedApi.get('/hello', { authorization: `Bearer ${own}` })).status).toBe(200);
  });

  test('revoked (all the account’s tokens): rejected at once with no cache, and once the cache bound has passed', async () => {
    const { token, customerId } = await userToken('api:read');
    const headers = { authorization: `Bearer ${token}` };
    expect((await api.get('/hello', headers)).status).toBe(200);
    expect((await uncachedApi.get('/hello', headers)).status).toBe(200);

    await server.application.revocation.revokeAccountTokens(customerId);

    const rejected = await uncachedApi.get('/hello', headers);
    expect(rejected.status).toBe(401);
    expect(rejected.challenge).toMatch(/error="invalid_token"/);
    // The cached API may keep answering from its cache, but never beyond its bound (30 s): a short-bound
    // instance shows the expiry without a long wait.
    const shortBound = await startExampleApi(server, await resourceCredentials(server), 1);
    try {
      const fresh = await userToken('api:read');
      const freshHeaders = { authorization: `Bearer ${fresh.token}` };
      expect((await shortBound.get('/hello', freshHeaders)).status).toBe(200);
      await server.application.revocation.revokeAccountTokens(fresh.customerId);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await shortBound.get('/hello', freshHeaders)).status).toBe(401);
    } finally {
      await shortBound.close();
    }
  });
});

async function resourceCredentials(server: TestServer): Promise<{ clientId: string; clientSecret: string }> {
  const created = await server.application.clients.create({
    name: 'Example API (short cache)',
    grantTypes: ['client_credentials'],
    scopes: ['api:read'],
    resourceServerAudiences: [server.config.defaultResource],
  });
  return { clientId: created.clientId, clientSecret: String(created.clientSecret) };
}

describe('the resource-server middleware without an audience', () => {
  // JavaScript callers get no type error: a missing audience would take a token for any API the client serves.
  test('refuses to be built, naming the option', () => {
    const withoutAudience = { issuer: 'http://127.0.0.1:1', introspection: { clientId: 'api', clientSecret: 'secret' } };
    expect(() => requireAuthToken(withoutAudience as unknown as ResourceServerOptions)).toThrow(/audience is required/);
    expect(() => requireAuthToken({ ...withoutAudience, audience: ' ' })).toThrow(/audience is required/);
  });

  test('refuses a realm that would break its WWW-Authenticate challenge', () => {
    const options = { issuer: 'http://127.0.0.1:1', audience: 'https://api.example', introspection: { clientId: 'api', clientSecret: 'secret' } };
    for (const realm of ['my "api"', 'back\\slash', 'line\nbreak', '']) {
      expect(() => requireAuthToken({ ...options, realm })).toThrow(/realm must be/);
    }
    expect(() => requireAuthToken({ ...options, realm: 'Example API (v2)' })).not.toThrow();
  });
});
