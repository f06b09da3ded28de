import { DASHBOARD_CALLBACK_PATH } from '../../src/dashboard/index.js';
import { createCustomer, CUSTOMER_PASSWORD, silentSignInPath } from '../support/dashboard.js';
import { openWatchedPage, type WatchedPage } from './support/browser.js';
import { signInToDashboard } from './support/dashboard.js';
import { serverAndChromium } from './support/server-and-chromium.js';

describe('dashboard active tokens and signed-in sessions in Chromium', () => {
  const running = serverAndChromium({ store: 'mongodb' });

  /** A silent sign-in (prompt=none) of the dashboard client in this browser; the URL it ends on. */
  async function silentSignIn(watched: WatchedPage): Promise<URL> {
    const redirects: string[] = [];
    const listener = (request: { url(): string; isNavigationRequest(): boolean }) => {
      if (request.isNavigationRequest()) redirects.push(request.url());
    };
    watched.page.on('request', listener);
    await watched.page.goto(`${running.server.baseUrl}${silentSignInPath(running.server.baseUrl)}`);
    watched.page.off('request', listener);
    const callback = redirects.find((url) => url.startsWith(`${running.server.baseUrl}${DASHBOARD_CALLBACK_PATH}`));
    if (!callback) throw new Error(`the silent sign-in did not come back to the callback: ${redirects.join(' -> ')}`);
    return new URL(callback);
  }

  test('a Generate Token API token is listed and revoked; it is gone from the list and from the store', async () => {
    const person = await createCustomer(running.server, { totp: false });
    const response = await fetch(`${running.server.baseUrl}/auth/v1/authentication/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: person.customerId, key: Buffer.from(CUSTOMER_PASSWORD).toString('base64'), email: person.email, country: 'DE', scope: 'api:read' }),
    });
    const { token } = (await response.json()) as { token: string };
    expect(await running.server.application.provider.AccessToken.find(token)).toBeDefined();

    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(running.server.baseUrl, watched, person);
    const { page } = watched;
    await page.getByRole('link', { name: 'Active tokens' }).click();
    await page.getByRole('heading', { name: 'Active tokens' }).waitFor();
    const listed = String(await page.locator('#tokens').textContent());
    expect(listed).toContain('authtoken-compat');
    expect(listed).toContain('api:read');
    expect(await page.content()).not.toContain(token);
    await watched.screenshot('dashboard-active-tokens');

    await page.getByRole('button', { name: /^Revoke access token of / }).click();
    await page.locator('#no-tokens').waitFor();
    expect(await running.server.application.provider.AccessToken.find(token)).toBeUndefined();
    const actions = (await running.server.application.audit.list({ accountId: person.customerId })).map((event) => event.action);
    expect(actions).toContain('dashboard.token.revoked');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('sessions of two browsers are listed; signing the other out ends its sign-in and dashboard sessions', async () => {
    const person = await createCustomer(running.server, { totp: false });
    const laptop = await openWatchedPage(running.browser);
    const phone = await openWatchedPage(running.browser);
    await signInToDashboard(running.server.baseUrl, laptop, person);
    await signInToDashboard(running.server.baseUrl, phone, person);

    const { page } = laptop;
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByRole('heading', { name: 'Signed-in sessions' }).waitFor();
    // A sign-in session and a dashboard session per browser; this browser's two are marked.
    expect(await page.locator('#sessions tbody tr').count()).toBe(4);
    expect(await page.locator('#sessions tr.current').count()).toBe(2);
    expect(String(await page.locator('#sessions').textContent())).toContain('127.0.0.1');
    await laptop.screenshot('dashboard-sessions');

    // Sign out the other browser's sign-in session: it can no longer be signed in silently.
    const otherSignIn = page.locator('#sessions tbody tr:not(.current)', { hasText: 'Sign-in' });
    await otherSignIn.getByRole('button', { name: /^Sign out sign-in session on / }).click();
    await page.getByRole('heading', { name: 'Signed-in sessions' }).waitFor();
    expect(await page.locator('#sessions tbody tr').count()).toBe(3);
    expect((await silentSignIn(phone)).searchParams.get('error')).toBe('login_required');
    expect((await silentSignIn(laptop)).searchParams.get('code')).toEqual(expect.any(String));

    // "Sign out all other sessions" ends the other browser's dashboard session too.
    await page.goto(`${running.server.baseUrl}/dashboard/sessions`);
    await page.getByRole('button', { name: 'Sign out all other sessions' }).click();
    await page.getByRole('heading', { name: 'Signed-in sessions' }).waitFor();
    expect(await page.locator('#sessions tbody tr').count()).toBe(2);
    await phone.page.goto(`${running.server.baseUrl}/dashboard`);
    await phone.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${running.server.baseUrl}/dashboard`);
    await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();

    // The silent sign-ins above ended on the callback's error page on purpose (a 400 the watcher ignores).
    expect(laptop.problems).toEqual([]);
    expect(phone.problems).toEqual([]);
    await laptop.context.close();
    await phone.context.close();
  });
});
