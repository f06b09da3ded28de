import { createHash, randomBytes } from 'node:crypto';

import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createTestAccount } from '../support/authorization-code.js';
import { DEMO, startTestServer, type TestServer } from '../support/server.js';

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
async function loggedPublicIp(server: TestServer, headers: Record<string, string> = FORWARDED): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}/healthz`, { headers });
  const requestId = response.headers.get('x-request-id');
  const line = server.logs.lines.map((text) => JSON.parse(text) as { requestId?: string; msg: string; ip?: string }).find((entry) => entry.requestId === requestId && entry.msg === 'request');
  return line?.ip;
}

async function lastAuditIp(server: TestServer, headers: Record<string, string> = FORWARDED): Promise<unknown> {
  await adminRequest(server.adminUrl ?? '', 'POST', '/clients', {
    body: { name: 'Proxied', grant_types: ['client_credentials'], scopes: ['api:read'] },
    headers,
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

  test('the address is normalised: no port, IPv4-mapped IPv6 as IPv4, and an entry that is no address falls back to the connection', async () => {
    const cases: Array<[string, string]> = [
      ['203.0.113.7:5678', '203.0.113.7'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['::ffff:203.0.113.9', '203.0.113.9'],
      ['  198.51.100.4', '198.51.100.4'],
      ['unknown', '127.0.0.1'],
      ['x'.repeat(4000), '127.0.0.1'],
    ];
    for (const [forwardedFor, expected] of cases) {
      expect({ forwardedFor: forwardedFor.slice(0, 40), ip: await loggedPublicIp(server, { 'x-forwarded-for': forwardedFor }) }).toEqual({ forwardedFor: forwardedFor.slice(0, 40), ip: expected });
    }
  });

  test('over https our CSRF cookie is __Host- prefixed (Secure, path /, no Domain): no sibling subdomain can plant one', async () => {
    const authorization = await startAuthorization(server, FORWARDED);
    const cookieHeader = authorization.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
    const loginPage = await fetch(new URL(String(authorization.headers.get('location')), server.baseUrl), { headers: { ...FORWARDED, cookie: cookieHeader } });
    expect(loginPage.status).toBe(200);
    const csrfCookies = loginPage.headers.getSetCookie().filter((cookie) => cookie.includes('authtoken.csrf'));
    expect(csrfCookies.length).toBe(2); // the value and its signature
    for (const cookie of csrfCookies) {
      expect(cookie).toMatch(/^__Host-authtoken\.csrf/);
      expect(cookie.toLowerCase()).toContain('; secure');
      expect(cookie.toLowerCase()).toContain('; path=/;');
      expect(cookie.toLowerCase()).not.toContain('domain=');
    }
  });

  test('over https the sign-in session cookie is __Host-session: signing in through the pages sets it Secure, for path /', async () => {
    const email = `proxied-${randomBytes(4).toString('hex')}@example.com`;
    await server.application.accounts.create({ email, password: 'correct horse battery staple' });
    const jar = new Map<string, string>();
    /** One request as the proxy forwards it: our cookie jar, and redirects followed only by the caller. */
    const send = async (pathOrUrl: string, init: { method?: string; form?: Record<string, string> } = {}) => {
      // Locations name the https origin the browser saw; the test server itself speaks http.
      const url = new URL(new URL(pathOrUrl, server.baseUrl).pathname + new URL(pathOrUrl, server.baseUrl).search, server.baseUrl);
      const headers: Record<string, string> = { ...FORWARDED, cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') };
      if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined, redirect: 'manual' });
      const setCookies = response.headers.getSetCookie();
      for (const cookie of setCookies) {
        const [pair = ''] = cookie.split(';');
        const at = pair.indexOf('=');
        jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
      return { response, setCookies, html: await response.text() };
    };
    const authorization = await startAuthorization(server, FORWARDED);
    for (const cookie of authorization.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    const login = await send(String(authorization.headers.get('location')));
    const action = String(/action="([^"]+\/login)"/.exec(login.html)?.[1]);
    const csrf = String(/name="csrf" value="([^"]+)"/.exec(login.html)?.[1]);
    const submitted = await send(action, { method: 'POST', form: { csrf, username: email, password: 'correct horse battery staple' } });
    expect(submitted.response.status).toBe(303);
    const resumed = await send(String(submitted.response.headers.get('location')));
    const sessionCookies = resumed.setCookies.filter((cookie) => /^(__Host-session|_session)[.=]/.test(cookie) && !cookie.includes('expires=Thu, 01 Jan 1970'));
    expect(sessionCookies.length).toBeGreaterThan(0);
    for (const cookie of sessionCookies) {
      expect(cookie).toMatch(/^__Host-session/);
      expect(cookie.toLowerCase()).toContain('; secure');
      expect(cookie.toLowerCase()).toContain('; path=/;');
      expect(cookie.toLowerCase()).not.toContain('domain=');
    }
  });

  test('over https the dashboard sign-in and session cookies are __Host- prefixed (Secure, path /) and still sign the person in', async () => {
    const email = `dashboard-${randomBytes(4).toString('hex')}@example.com`;
    await server.application.accounts.create({ email, password: 'correct horse battery staple' });
    const jar = new Map<string, string>();
    const setCookies: string[] = [];
    /** One GET or form POST as the proxy forwards it; redirects to our own host are followed. */
    const send = async (pathOrUrl: string, form?: Record<string, string>): Promise<{ status: number; html: string; location: string | undefined }> => {
      let target = new URL(pathOrUrl, server.baseUrl);
      let body = form ? new URLSearchParams(form).toString() : undefined;
      for (let hop = 0; hop < 10; hop += 1) {
        // Locations name the https origin the browser saw; the test server itself speaks http.
        const url = new URL(target.pathname + target.search, server.baseUrl);
        const headers: Record<string, string> = { ...FORWARDED, cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') };
        if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
        const response = await fetch(url, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
        for (const cookie of response.headers.getSetCookie()) {
          setCookies.push(cookie);
          const [pair = ''] = cookie.split(';');
          const at = pair.indexOf('=');
          if (cookie.toLowerCase().includes('expires=thu, 01 jan 1970')) jar.delete(pair.slice(0, at));
          else jar.set(pair.slice(0, at), pair.slice(at + 1));
        }
        const location = response.headers.get('location') ?? undefined;
        if (response.status < 300 || response.status >= 400 || !location) return { status: response.status, html: await response.text(), location };
        await response.arrayBuffer();
        target = new URL(location, target);
        body = undefined;
      }
      throw new Error('too many redirects');
    };
    const login = await send('/dashboard/signin');
    const action = String(/action="([^"]+\/login)"/.exec(login.html)?.[1]);
    const csrf = String(/name="csrf" value="([^"]+)"/.exec(login.html)?.[1]);
    const consent = await send(action, { csrf, username: email, password: 'correct horse battery staple' });
    const consentAction = String(/action="([^"]+\/consent)"/.exec(consent.html)?.[1]);
    const consentCsrf = String(/name="csrf" value="([^"]+)"/.exec(consent.html)?.[1]);
    const overview = await send(consentAction, { csrf: consentCsrf, decision: 'allow' });
    expect(overview.status).toBe(200);
    expect(overview.html).toContain('Your AuthToken dashboard');
    const dashboardCookies = setCookies.filter((cookie) => cookie.includes('authtoken.dashboard') && !cookie.toLowerCase().includes('expires=thu, 01 jan 1970'));
    expect(dashboardCookies.some((cookie) => cookie.startsWith('__Host-authtoken.dashboard.signin='))).toBe(true);
    expect(dashboardCookies.some((cookie) => cookie.startsWith('__Host-authtoken.dashboard='))).toBe(true);
    for (const cookie of dashboardCookies) {
      expect(cookie).toMatch(/^__Host-/);
      expect(cookie.toLowerCase()).toContain('; secure');
      expect(cookie.toLowerCase()).toContain('; path=/;');
    }
  });

  test('X-Forwarded-Proto: https lets the provider set its cookies, marked Secure', async () => {
    const response = await startAuthorization(server, FORWARDED);
    expect(response.status).toBe(303);
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('; secure');
  });
});

/** A password grant request (demo client) arriving through proxies that sent this X-Forwarded-For. */
async function passwordGrantVia(server: TestServer, forwardedFor: string, username: string, password: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${DEMO.id}:${DEMO.secret}`).toString('base64')}`,
      'x-forwarded-for': forwardedFor,
    },
    body: new URLSearchParams({ grant_type: 'password', username, password, scope: 'api:read' }).toString(),
  });
  await response.arrayBuffer();
  return response.status;
}

const ACCOUNT_PASSWORD = 'correct horse battery staple';

/**
 * An appending proxy (nginx's $proxy_add_x_forwarded_for) keeps whatever the client sent and adds the
 * address it saw last: only the rightmost TRUSTED_PROXY_HOPS entries were written by proxies we trust.
 */
describe.each([
  { label: '1 (the default)', hops: undefined, proxyAppended: (seen: string) => seen },
  { label: '2', hops: '2', proxyAppended: (seen: string) => `${seen}, 10.0.0.5` },
])('TRUST_PROXY=true, TRUSTED_PROXY_HOPS=$label: a client-written X-Forwarded-For entry does not choose the address', ({ hops, proxyAppended }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      store: 'memory',
      env: {
        ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        TRUST_PROXY: 'true',
        ...(hops ? { TRUSTED_PROXY_HOPS: hops } : {}),
        SIGNIN_FREE_FAILURES: '2',
        SIGNIN_BACKOFF_BASE_MS: '600000',
        RATE_LIMIT_PASSWORD_GRANT: '6',
        RATE_LIMIT_WINDOW_SECONDS: '3600',
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  test('audit and the request log record the address the trusted proxies saw, not the spoofed leftmost entry', async () => {
    const headers = { 'x-forwarded-for': `10.9.8.7, ${proxyAppended('203.0.113.7')}` };
    expect(await lastAuditIp(server, headers)).toBe('203.0.113.7');
    expect(await loggedPublicIp(server, headers)).toBe('203.0.113.7');
  });

  test('the per-(account, IP) backoff still bites when each attempt claims another leftmost address', async () => {
    const email = (await server.application.accounts.findById(await createTestAccount(server.application)))?.email ?? '';
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await passwordGrantVia(server, `10.9.8.${attempt}, ${proxyAppended('198.51.100.10')}`, email, 'not the password')).toBe(400);
    }
    // Throttled: the right password from the same (proxy-seen) address answers like a wrong one.
    expect(await passwordGrantVia(server, `10.9.8.99, ${proxyAppended('198.51.100.10')}`, email, ACCOUNT_PASSWORD)).toBe(400);
    // The throttle is per address: the same password from another address the proxies saw goes through.
    expect(await passwordGrantVia(server, `10.9.8.99, ${proxyAppended('198.51.100.11')}`, email, ACCOUNT_PASSWORD)).toBe(200);
  });

  test('the per-IP rate limit of the password grant (inside oidc-provider) still bites', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      statuses.push(await passwordGrantVia(server, `10.9.8.${attempt}, ${proxyAppended('198.51.100.20')}`, 'nobody@example.com', 'wrong'));
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 429]);
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
