import { windowWithSecondsLeft } from '../support/clock.js';
import { createCustomer, totpCode } from '../support/dashboard.js';
import { PageClient, textOf, type PageResponse } from '../support/page-client.js';
import { startTestServer, STORE_KINDS, type TestServer, testServer } from '../support/server.js';
import { BURST_FREE_FAILURES, BURST_SIZE, BURST_THROTTLE_ENV } from '../support/burst.js';
import type { Application } from '../../src/app.js';

const LIMIT = 3;
const WINDOW_SECONDS = 3600;
const WRONG = 'not the password at all';

/** The login page's error text: the same element for a wrong password and for a spent budget. */
const loginError = (page: PageResponse) => textOf(page.html, 'login-error');

/** A page over the per-IP limit: an HTML page (never JSON, never a 500), 429 with a usable Retry-After. */
function expectRateLimitedPage(page: PageResponse): void {
  expect(page.status).toBe(429);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const retryAfter = Number(page.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(3600);
  expect(page.html).toContain('Too many sign-in attempts from your network');
  expect(page.html).toContain(`${retryAfter} seconds`);
}

/**
 * Password spraying through the login page: one address, many usernames, one password. The per-(account,
 * IP) backoff never sees two failures of one account, so a per-IP budget (RATE_LIMIT_SIGN_IN_PAGES) is what
 * stops it, on the password POST and the second-factor POST alike.
 */
describe.each(STORE_KINDS)('per-IP limit of the sign-in pages (%s store)', (storeKind) => {
  let server: TestServer;
  beforeEach(async () => {
    // A fresh server per test: every test spends the budget of 127.0.0.1. The backoff is kept out of the way.
    server = await startTestServer({
      store: storeKind,
      env: { RATE_LIMIT_SIGN_IN_PAGES: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS), SIGNIN_FREE_FAILURES: '50' },
    });
    // The window starts on the clock: a test's POSTs straddling its start would find two budgets (no 429).
    await windowWithSecondsLeft(WINDOW_SECONDS, 15);
  });
  afterEach(async () => {
    await server.close();
  });

  test('login page: past the budget every password POST is a 429 login page, the same for a real account (even with its password) and an unknown one', async () => {
    const customer = await createCustomer(server, { totp: false });
    const client = new PageClient(server.baseUrl);
    let page = await client.follow('/dashboard');
    for (const username of ['nobody-1@example.com', customer.email, 'nobody-2@example.com']) {
      page = await client.submit(page, /\/login$/, { username, password: WRONG });
      expect(page.status).toBe(200);
      expect(loginError(page)).toBe('The email or password is not correct.');
    }

    const known = await client.submit(page, /\/login$/, { username: customer.email, password: customer.password });
    expectRateLimitedPage(known);
    // Still the login page: the person can submit again once the window is over.
    expect(known.html).toMatch(/action="\/interaction\/[^"/]+\/login"/);
    expect(known.location).toBeUndefined();
    const unknown = await client.submit(known, /\/login$/, { username: 'nobody-3@example.com', password: WRONG });
    expectRateLimitedPage(unknown);
    expect(loginError(unknown)).toBe(loginError(known));
    // Refused before the password was checked: no sign-in happened.
    expect(await server.application.audit.list({ accountId: customer.customerId, action: 'signin.success' })).toEqual([]);
  });

  test('MFA page: code POSTs spend the same budget; past it, a 429 MFA page that keeps the pending sign-in', async () => {
    const customer = await createCustomer(server, { totp: true });
    const secret = customer.totpSecret ?? '';
    const client = new PageClient(server.baseUrl);
    const login = await client.follow('/dashboard');
    let page = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(page.html).toMatch(/action="\/interaction\/[^"/]+\/mfa"/);
    for (let attempt = 1; attempt < LIMIT; attempt += 1) {
      page = await client.submit(page, /\/mfa$/, { method: 'totp', code: '000000' });
      expect(page.status).toBe(200);
      expect(page.html).toContain('That code is not valid');
    }

    const limited = await client.submit(page, /\/mfa$/, { method: 'totp', code: await totpCode(secret) });
    expectRateLimitedPage(limited);
    expect(limited.html).toMatch(/action="\/interaction\/[^"/]+\/mfa"/);
    expect(await server.application.audit.list({ accountId: customer.customerId, action: 'signin.success' })).toEqual([]);
  });
});

/** Throttled page submissions so far (the pages answer them exactly like wrong ones, and count them here). */
async function backoffLockouts(application: Application): Promise<number> {
  const values = (await application.metrics.lockouts.get()).values;
  return values.filter((value) => value.labels.kind === 'backoff').reduce((sum, value) => sum + value.value, 0);
}

/**
 * The (account, IP) backoff behind the pages holds for submissions sent at once: each is reserved before its
 * password or code is checked, so a burst gets no more checks than the same submissions one after another.
 */
describe.each(STORE_KINDS)('sign-in pages: concurrent submissions meet the backoff like sequential ones (%s store)', (storeKind) => {
  const FREE_FAILURES = BURST_FREE_FAILURES;
  const BURST = BURST_SIZE;
  const running = testServer({ store: storeKind, env: BURST_THROTTLE_ENV });

  test(`${BURST} wrong passwords at once on the login page: at most SIGNIN_FREE_FAILURES + 1 are checked, every answer the same`, async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    const login = await client.follow('/dashboard');
    const throttledBefore = await backoffLockouts(running.server.application);
    const pages = await Promise.all(
      Array.from({ length: BURST }, (_, index) => client.submit(login, /\/login$/, { username: customer.email, password: `${WRONG} ${index}` })),
    );
    for (const page of pages) expect(loginError(page)).toBe('The email or password is not correct.');
    const throttled = (await backoffLockouts(running.server.application)) - throttledBefore;
    expect(BURST - throttled).toBeGreaterThan(0);
    expect(BURST - throttled).toBeLessThanOrEqual(FREE_FAILURES + 1);
  });

  test(`${BURST} wrong codes at once on the MFA page: at most SIGNIN_FREE_FAILURES + 1 are checked, the pending sign-in survives`, async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    const login = await client.follow('/dashboard');
    const mfa = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(mfa.html).toMatch(/action="\/interaction\/[^"/]+\/mfa"/);
    const right = await totpCode(customer.totpSecret ?? '');
    const wrong = right === '000000' ? '111111' : '000000';
    const throttledBefore = await backoffLockouts(running.server.application);
    const pages = await Promise.all(Array.from({ length: BURST }, () => client.submit(mfa, /\/mfa$/, { method: 'totp', code: wrong })));
    for (const page of pages) expect(page.html).toContain('That code is not valid');
    const throttled = (await backoffLockouts(running.server.application)) - throttledBefore;
    expect(BURST - throttled).toBeGreaterThan(0);
    expect(BURST - throttled).toBeLessThanOrEqual(FREE_FAILURES + 1);
  });
});
