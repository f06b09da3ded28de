import { createCustomer, signInToDashboardOverHttp, totpCode } from '../support/dashboard.js';
import { PageClient, type PageResponse } from '../support/page-client.js';
import { serverOnOwnDatabase, STORE_KINDS, testServer } from '../support/server.js';

const DASHBOARD_SESSION_COOKIE = 'authtoken.dashboard';

/**
 * Issue 7, existing dashboard behaviour that had no test: the step-up of a sign-in whose amr lacks the
 * second factor the account has, and the page the dashboard answers while the store is down.
 */
describe.each(STORE_KINDS)('dashboard sign-in step-up (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  test('an account with TOTP whose provider session has only the password is stepped up by the provider, then signed in with otp', async () => {
    // Signed in with the password alone while the account had no factor; then an authenticator is added
    // (e.g. from another device), and the dashboard session ends while the provider session lives on.
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInToDashboardOverHttp(client, customer);
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await running.server.application.mfa.totp.install(customer.customerId, secret);
    client.forgetCookie(DASHBOARD_SESSION_COOKIE);

    // Walk the redirects one by one to see the dashboard ask for the second factor.
    const hops: string[] = [];
    let page: PageResponse = await client.request('/dashboard');
    while (page.location && hops.length < 20) {
      hops.push(new URL(page.location, page.url).pathname + new URL(page.location, page.url).search);
      page = await client.request(new URL(page.location, page.url).toString());
    }
    // The provider steps up at the first /auth (its session holds only the password, the account now has a
    // factor), so the dashboard's callback never receives a password-only sign-in to step up itself.
    expect(hops.filter((hop) => hop.startsWith('/auth?'))).toHaveLength(1);
    expect(hops.some((hop) => hop.startsWith('/dashboard/callback?'))).toBe(false);
    // The provider session is trusted for the password: only the code is asked for.
    expect(page.status).toBe(200);
    expect(page.html).toContain('Verify it is you');
    expect(page.html).not.toContain('name="password"');

    const overview = await client.submit(page, /\/mfa$/, { method: 'totp', code: await totpCode(secret) });
    expect(overview.html).toContain('Your AuthToken dashboard');
    const [signIn] = await running.server.application.audit.list({ accountId: customer.customerId, action: 'dashboard.signin' });
    expect(signIn?.details?.amr).toEqual(expect.arrayContaining(['otp', 'mfa']));
  });
});

describe('the dashboard while the store is down', () => {
  const own = serverOnOwnDatabase();

  test('answers a 503 page (no stack trace) and recovers by itself, with the session intact', async () => {
    const customer = await createCustomer(own.server, { totp: false });
    const client = new PageClient(own.server.baseUrl);
    await signInToDashboardOverHttp(client, customer);

    await own.ferret.halt();
    try {
      for (const path of ['/dashboard', '/dashboard/security', '/dashboard/credentials']) {
        const page = await client.request(path);
        expect(page.status).toBe(503);
        expect(page.headers.get('content-type')).toMatch(/text\/html/);
        expect(page.headers.get('retry-after')).toBe('5');
        expect(page.html).toContain('Service temporarily unavailable');
        expect(page.html).toContain('temporarily_unavailable');
        expect(page.html).not.toMatch(/Mongo|Error:|\bat [\w.]+ \(/);
      }
    } finally {
      await own.ferret.resume();
    }

    // Bounded wait for the driver to reconnect on its own.
    let page = await client.request('/dashboard');
    for (let attempt = 0; attempt < 60 && page.status !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      page = await client.request('/dashboard');
    }
    expect(page.status).toBe(200);
    expect(page.html).toContain(customer.customerId);
  }, 120_000);
});
