import { createHash, randomBytes } from 'node:crypto';

import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { startTestServer, type TestServer } from '../support/server.js';

const REDIRECT_URI = 'https://app.example/callback';
const FORWARDED = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

/** Starts an authorization request; the provider answers by setting its interaction cookies. */
async function startAuthorization(server: TestServer, headers: Record<string, string>): Promise<Response> {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: 'web-app',
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  return fetch(`${server.baseUrl}/auth?${query.toString()}`, { headers, redirect: 'manual' });
}

async function startServer(trustProxy: boolean): Promise<TestServer> {
  const server = await startTestServer({
    store: 'memory',
    // An https issuer, as behind a TLS-terminating proxy: cookies must be Secure.
    env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, TRUST_PROXY: String(trustProxy), ISSUER: 'https://auth.example' },
  });
  await server.application.clients.create({
    clientId: 'web-app',
    name: 'Web app',
    grantTypes: ['authorization_code'],
    scopes: ['openid'],
    redirectUris: [REDIRECT_URI],
    authMethod: 'none',
  });
  return server;
}

/** The client address the public app logged for one request. */
async function loggedPublicIp(server: TestServer): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}/healthz`, { headers: FORWARDED });
  const requestId = response.headers.get('x-request-id');
  const line = server.logs.lines.map((text) => JSON.parse(text) as { requestId?: string; msg: string; ip?: string }).find((entry) => entry.requestId === requestId && entry.msg === 'request');
  return line?.ip;
}

async function lastAuditIp(server: TestServer): Promise<unknown> {
  await adminRequest(server.adminUrl ?? '', 'POST', '/clients', {
    body: { name: 'Proxied', grant_types: ['client_credentials'], scopes: ['api:read'] },
    headers: FORWARDED,
  });
  const events = (await adminRequest(server.adminUrl ?? '', 'GET', '/audit-events?action=admin.client.created&limit=1')).body as { ip?: string }[];
  return events[0]?.ip;
}

describe('TRUST_PROXY=true', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(true);
  });
  afterAll(async () => {
    await server.close();
  });

  test('audit and the request log record the X-Forwarded-For client address (ctx.ip, which per-IP limits use)', async () => {
    expect(await lastAuditIp(server)).toBe('203.0.113.7');
    expect(await loggedPublicIp(server)).toBe('203.0.113.7');
  });

  test('X-Forwarded-Proto: https lets the provider set its cookies, marked Secure', async () => {
    const response = await startAuthorization(server, FORWARDED);
    expect(response.status).toBe(303);
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('; secure');
  });
});

describe('TRUST_PROXY off (the default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(false);
  });
  afterAll(async () => {
    await server.close();
  });

  test('is off unless configured', () => {
    expect(server.config.trustProxy).toBe(false);
  });

  test('audit and the request log ignore X-Forwarded-For and record the socket address', async () => {
    expect(await lastAuditIp(server)).toBe('127.0.0.1');
    expect(await loggedPublicIp(server)).toBe('127.0.0.1');
  });

  test('X-Forwarded-Proto is ignored: over plain http no cookie goes out, and the answer says why (not a 500)', async () => {
    const response = await startAuthorization(server, FORWARDED);
    expect(response.status).toBe(400);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await response.text()).toContain('must be reached over https');
    expect(server.logs.lines.filter((line) => line.includes('set TRUST_PROXY=true'))).toHaveLength(1);
  });
});
