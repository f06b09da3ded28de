import { createHash, randomBytes } from 'node:crypto';

import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createTestAccount } from '../support/authorization-code.js';
import { passwordGrantVia } from '../support/grants.js';
import { startTestServer, type TestServer, testServer } from '../support/server.js';
import { windowWithSecondsLeft } from '../support/clock.js';

const REDIRECT_URI = 'https://app.example/callback';
const FORWARDED = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

/** The path of an authorization request of the web app (code flow with PKCE). */
function authorizationPath(): string {
  const verifier = randomBytes(32).toString('base64url');
  const query = new URLSearchParams({
    client_id: 'web-app',
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  return `/auth?${query.toString()}`;
}

/** Starts an authorization request; the provider answers by setting its interaction cookies. */
async function startAuthorization(server: TestServer, headers: Record<string, string>): Promise<Response> {
  return fetch(`${server.baseUrl}${authorizationPath()}`, { headers, redirect: 'manual' });
}

/** A live cookie as set: `__Host-` named, Secure, for path / and without a Domain (host-only). */
function expectHostOnly(setCookie: string, name: RegExp): void {
  expect(setCookie).toMatch(name);
  expect(setCookie.toLowerCase()).toContain('; secure');
  expect(setCookie.toLowerCase()).toContain('; path=/;');
  expect(setCookie.toLowerCase()).not.toContain('domain=');
}

/**
 * A browser behind the TLS-terminating proxy (every request carries FORWARDED): a cookie jar, every cookie the
 * server set, and redirects followed while they stay on this server (its address or the issuer's host; their
 * https Locations are sent to the http test server); a redirect elsewhere (an app's callback) ends the visit.
 */
function proxiedBrowser(server: TestServer) {
  const jar = new Map<string, string>();
  const live: string[] = [];
  // The provider's Locations name the request's host; the dashboard's name the issuer's (auth.example).
  const ourHosts = new Set([new URL(server.baseUrl).host, new URL(server.config.issuer).host]);
  return {
    /** The Set-Cookie lines (not deletions) whose cookie name passes `named`. */
    cookiesSet: (named: (name: string) => boolean) => live.filter((cookie) => named(cookie.slice(0, cookie.indexOf('=')))),
    async visit(pathOrUrl: string, form?: Record<string, string>): Promise<{ status: number; html: string; location: string | undefined }> {
      let target = new URL(pathOrUrl, server.baseUrl);
      let body = form ? new URLSearchParams(form).toString() : undefined;
      for (let hop = 0; hop < 10; hop += 1) {
        const headers: Record<string, string> = { ...FORWARDED, cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') };
        if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
        const url = new URL(target.pathname + target.search, server.baseUrl);
        const response = await fetch(url, { method: body ? 'POST' : 'GET', headers, body, redirect: 'manual' });
        for (const cookie of response.headers.getSetCookie()) {
          const [pair = ''] = cookie.split(';');
          const name = pair.slice(0, pair.indexOf('='));
          if (cookie.toLowerCase().includes('expires=thu, 01 jan 1970')) {
            jar.delete(name);
          } else {
            jar.set(name, pair.slice(pair.indexOf('=') + 1));
            live.push(cookie);
          }
        }
        const location = response.headers.get('location') ?? undefined;
        const next = location === undefined ? undefined : new URL(location, target);
        if (response.status < 300 || response.status >= 400 || !next || !ourHosts.has(next.host)) {
          return { status: response.status, html: await response.text(), location };
        }
        await response.arrayBuffer();
        target = next;
        body = undefined;
      }
      throw new Error('too many redirects');
    },
  };
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

  const PASSWORD_OF_ACCOUNT = 'correct horse battery staple';
  const newAccount = async (prefix: string) => {
    const email = `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
    await server.application.accounts.create({ email, password: PASSWORD_OF_ACCOUNT });
    return email;
  };
  /** The values of the named hidden field and the form action matching `action` on a page. */
  const formOn = (html: string, action: RegExp) => ({
    action: String(action.exec(html)?.[1]),
    csrf: String(/name="csrf" value="([^"]+)"/.exec(html)?.[1]),
  });

  test('over https our CSRF cookie is __Host- prefixed (Secure, path /, no Domain): no sibling subdomain can plant one', async () => {
    const browser = proxiedBrowser(server);
    const login = await browser.visit(authorizationPath());
    expect(login.status).toBe(200);
    const csrfCookies = browser.cookiesSet((name) => name.includes('authtoken.csrf'));
    expect(csrfCookies.length).toBe(2); // the value and its signature
    for (const cookie of csrfCookies) expectHostOnly(cookie, /^__Host-authtoken\.csrf/);
  });

  test('over https the sign-in session cookie is __Host-session: signing in through the pages sets it Secure, for path /', async () => {
    const email = await newAccount('proxied');
    const browser = proxiedBrowser(server);
    const login = formOn((await browser.visit(authorizationPath())).html, /action="([^"]+\/login)"/);
    // Signed in: the provider resumes the authorization and asks for consent.
    const consent = await browser.visit(login.action, { csrf: login.csrf, username: email, password: PASSWORD_OF_ACCOUNT });
    expect(consent.html).toContain('Allow access');
    const sessionCookies = browser.cookiesSet((name) => /^(__Host-session|_session)(\.sig)?$/.test(name));
    expect(sessionCookies.length).toBeGreaterThan(0);
    for (const cookie of sessionCookies) expectHostOnly(cookie, /^__Host-session/);
  });

  test('over https the dashboard sign-in and session cookies are __Host- prefixed (Secure, path /) and still sign the person in', async () => {
    const email = await newAccount('dashboard');
    const browser = proxiedBrowser(server);
    const login = formOn((await browser.visit('/dashboard/signin')).html, /action="([^"]+\/login)"/);
    const consent = formOn((await browser.visit(login.action, { csrf: login.csrf, username: email, password: PASSWORD_OF_ACCOUNT })).html, /action="([^"]+\/consent)"/);
    const overview = await browser.visit(consent.action, { csrf: consent.csrf, decision: 'allow' });
    expect(overview.status).toBe(200);
    expect(overview.html).toContain('Your AuthToken dashboard');
    const dashboardCookies = browser.cookiesSet((name) => name.includes('authtoken.dashboard'));
    expect(dashboardCookies.some((cookie) => cookie.startsWith('__Host-authtoken.dashboard.signin='))).toBe(true);
    expect(dashboardCookies.some((cookie) => cookie.startsWith('__Host-authtoken.dashboard='))).toBe(true);
    for (const cookie of dashboardCookies) expectHostOnly(cookie, /^__Host-/);
  });

  test('X-Forwarded-Proto: https lets the provider set its cookies, marked Secure', async () => {
    const response = await startAuthorization(server, FORWARDED);
    expect(response.status).toBe(303);
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('; secure');
  });
});

const ACCOUNT_PASSWORD = 'correct horse battery staple';

/**
 * An appending proxy (nginx's $proxy_add_x_forwarded_for) keeps whatever the client sent and adds the
 * address it saw last: only the rightmost TRUSTED_PROXY_HOPS entries were written by proxies we trust.
 */
describe.each([
  { label: '1 (the default)', hops: undefined, proxyAppended: (seen: string) => seen },
  { label: '2', hops: '2', proxyAppended: (seen: string) => `${seen}, 10.0.0.5` },
])('TRUST_PROXY=true, TRUSTED_PROXY_HOPS=$label: a client-written X-Forwarded-For entry does not choose the address', ({ hops, proxyAppended }) => {
  const running = testServer({
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

  test('audit and the request log record the address the trusted proxies saw, not the spoofed leftmost entry', async () => {
    const headers = { 'x-forwarded-for': `10.9.8.7, ${proxyAppended('203.0.113.7')}` };
    expect(await lastAuditIp(running.server, headers)).toBe('203.0.113.7');
    expect(await loggedPublicIp(running.server, headers)).toBe('203.0.113.7');
  });

  test('the per-(account, IP) backoff still bites when each attempt claims another leftmost address', async () => {
    const email = (await running.server.application.accounts.findById(await createTestAccount(running.server.application)))?.email ?? '';
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await passwordGrantVia(running.server, `10.9.8.${attempt}, ${proxyAppended('198.51.100.10')}`, email, 'not the password')).toBe(400);
    }
    // Throttled: the right password from the same (proxy-seen) address answers like a wrong one.
    expect(await passwordGrantVia(running.server, `10.9.8.99, ${proxyAppended('198.51.100.10')}`, email, ACCOUNT_PASSWORD)).toBe(400);
    // The throttle is per address: the same password from another address the proxies saw goes through.
    expect(await passwordGrantVia(running.server, `10.9.8.99, ${proxyAppended('198.51.100.11')}`, email, ACCOUNT_PASSWORD)).toBe(200);
  });

  test('the per-IP rate limit of the password grant (inside oidc-provider) still bites', async () => {
    // Exact counts: all seven inside one clock-aligned window.
    await windowWithSecondsLeft(3600, 15);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      statuses.push(await passwordGrantVia(running.server, `10.9.8.${attempt}, ${proxyAppended('198.51.100.20')}`, 'nobody@example.com', 'wrong'));
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
