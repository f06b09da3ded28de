import type { Page } from 'playwright-core';

import { createCustomer, CUSTOMER_PASSWORD as PASSWORD, type Customer } from '../support/dashboard.js';
import { DEMO, postForm } from '../support/server.js';
import { openWatchedPage, type WatchedPage } from './support/browser.js';
import { signInToDashboard as signInWithBrowser } from './support/dashboard.js';
import { serverAndChromium } from './support/server-and-chromium.js';

describe('customer dashboard in Chromium', () => {
  const running = serverAndChromium({ store: 'mongodb' });

  const newPerson = (options: { totp: boolean }) => createCustomer(running.server, options);
  const signInToDashboard = (watched: WatchedPage, person: Customer) => signInWithBrowser(running.server.baseUrl, watched, person);

  /** Fills and submits the create form; `password` answers its re-authentication (absent within the window). */
  async function createCredential(page: Page, name: string, scopes: string[], password?: string): Promise<void> {
    await page.getByLabel('Name').fill(name);
    for (const scope of scopes) await page.getByRole('checkbox', { name: scope }).check();
    if (password !== undefined) await page.getByLabel('Your password').fill(password);
    await page.getByRole('button', { name: 'Create credential' }).click();
  }

  test('sign in with password + TOTP, overview with the customer ID and Getting started', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, person);
    const { page } = watched;
    expect(await page.locator('#customer-id').textContent()).toBe(person.customerId);
    await page.getByRole('heading', { name: 'Getting started' }).waitFor();
    await watched.screenshot('dashboard-overview');
    const events = await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.signin' });
    expect(events[0]?.details).toMatchObject({ amr: ['pwd', 'otp', 'mfa'] });

    // A password reset or change ends everything of the account: the dashboard session too.
    await running.server.application.endEverythingOf(person.customerId);
    const after = await page.request.get(`${running.server.baseUrl}/dashboard`, { maxRedirects: 0 });
    expect(after.status()).toBe(303);
    expect(after.headers().location).toBe('/dashboard/signin');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('API credentials: errors beside the field, create (secret once, Try with code token works), delete revokes', async () => {
    const person = await newPerson({ totp: false });
    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, person);
    const { page } = watched;
    await page.getByRole('link', { name: 'API credentials' }).click();
    await page.getByRole('heading', { name: 'API credentials' }).waitFor();
    expect(await page.locator('#no-credentials').isVisible()).toBe(true);

    // Keyboard only: the form submits with Enter, and a missing scope is reported beside the form.
    await page.getByLabel('Name').fill('Billing sync');
    await page.getByLabel('Name').press('Enter');
    expect(await page.getByRole('alert').textContent()).toContain('at least one scope');
    expect(await page.getByLabel('Name').inputValue()).toBe('Billing sync');
    await watched.screenshot('dashboard-credentials-error');

    // Creating needs the password again (sudo mode): without it the form says so, and nothing is created.
    await createCredential(page, 'Billing sync', ['api:read']);
    expect(await page.getByRole('alert').textContent()).toContain('enter your password');
    expect(await page.getByLabel('Name').inputValue()).toBe('Billing sync');
    await watched.screenshot('dashboard-credentials-confirm');
    await createCredential(page, 'Billing sync', [], PASSWORD);
    await page.getByRole('heading', { name: /Credential “Billing sync” created/ }).waitFor();
    await watched.screenshot('dashboard-credential-created');
    const clientId = String(await page.locator('#client-id').textContent());
    const clientSecret = String(await page.locator('#client-secret').textContent());
    expect(await page.locator('main').textContent()).not.toContain('No token could be minted');
    const minted = String(await page.locator('#minted-token').textContent());
    expect(await page.locator('#snippet-curl').textContent()).toContain(`-u '${clientId}:${clientSecret}'`);
    expect(await page.locator('#snippet-python').textContent()).toContain('requests.post(');
    expect(await page.locator('#snippet-node').textContent()).toContain('await fetch(');

    // The minted token is a live AuthToken of the new credential, and the shown secret works at /token.
    const credential = { id: clientId, secret: clientSecret };
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: minted }, credential);
    expect(introspection.body).toMatchObject({ active: true, client_id: clientId, scope: 'api:read' });
    const fresh = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential);
    expect(fresh.status).toBe(200);

    // Reloading the list never shows the secret again.
    await page.getByRole('link', { name: 'Back to your credentials' }).click();
    await page.getByRole('cell', { name: 'Billing sync', exact: true }).waitFor();
    expect(await page.content()).not.toContain(clientSecret);
    await watched.screenshot('dashboard-credentials-list');

    await page.getByRole('button', { name: 'Delete Billing sync' }).click();
    await page.locator('#no-credentials').waitFor();
    expect(await running.server.application.provider.ClientCredentials.find(minted)).toBeUndefined();
    expect((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials' }, credential)).status).toBe(401);
    const actions = (await running.server.application.audit.list({ accountId: person.customerId })).map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['dashboard.credential.created', 'dashboard.credential.deleted']));
    expect(JSON.stringify(await running.server.application.audit.list({ accountId: person.customerId }))).not.toContain(clientSecret);

    // The activity page lists those events for the customer.
    await page.getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('heading', { name: 'Activity' }).waitFor();
    const activity = String(await page.locator('#activity').textContent());
    for (const action of ['dashboard.signin', 'dashboard.credential.created', 'dashboard.credential.deleted']) expect(activity).toContain(action);
    expect(activity).not.toContain(clientSecret);
    await watched.screenshot('dashboard-activity');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('rotate a secret: asks for the password in a session that has not given it; both work during the grace period; "revoke old secret now" ends the old one and its tokens', async () => {
    const person = await newPerson({ totp: false });
    const creator = await openWatchedPage(running.browser);
    await signInToDashboard(creator, person);
    await creator.page.getByRole('link', { name: 'API credentials' }).click();
    await createCredential(creator.page, 'Reports', ['api:read'], PASSWORD);
    const clientId = String(await creator.page.locator('#client-id').textContent());
    const oldSecret = String(await creator.page.locator('#client-secret').textContent());
    const oldToken = String(await creator.page.locator('#minted-token').textContent());
    expect(creator.problems).toEqual([]);
    await creator.context.close();

    // Another browser of the same person has not re-authenticated: rotating asks for the password first.
    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, person);
    const { page } = watched;
    await page.getByRole('link', { name: 'API credentials' }).click();
    await page.getByRole('button', { name: 'Rotate secret of Reports' }).click();
    await page.getByRole('heading', { name: 'Rotate the secret of “Reports”' }).waitFor();
    await watched.screenshot('dashboard-confirm-rotation');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('enter your password');
    await page.getByLabel('Your password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByRole('heading', { name: 'New secret' }).waitFor();
    await watched.screenshot('dashboard-secret-rotated');
    const newSecret = String(await page.locator('#client-secret').textContent());
    expect(newSecret).not.toBe(oldSecret);
    const validUntil = Date.parse(String(await page.locator('#previous-valid-until').getAttribute('datetime')));
    expect(validUntil - Date.now()).toBeGreaterThan(23 * 3600 * 1000); // the 24 h default grace period

    const tokenWith = (secret: string) => postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { id: clientId, secret });
    expect((await tokenWith(oldSecret)).status).toBe(200);
    expect((await tokenWith(newSecret)).status).toBe(200);

    await page.getByRole('link', { name: 'your credentials' }).click();
    await page.getByRole('button', { name: 'Revoke old secret now for Reports' }).click();
    await page.getByRole('button', { name: 'Rotate secret of Reports' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke old secret now for Reports' }).count()).toBe(0);
    expect((await tokenWith(oldSecret)).status).toBe(401);
    expect((await tokenWith(newSecret)).status).toBe(200);
    expect(await running.server.application.provider.ClientCredentials.find(oldToken)).toBeUndefined();
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('connected apps: a Generate Token API sign-in is listed and revoking it ends its token', async () => {
    const person = await newPerson({ totp: false });
    const response = await fetch(`${running.server.baseUrl}/auth/v1/authentication/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: person.customerId, key: Buffer.from(PASSWORD).toString('base64'), email: person.email, country: 'DE', scope: 'api:read' }),
    });
    const { token } = (await response.json()) as { token: string };
    expect(await running.server.application.provider.AccessToken.find(token)).toBeDefined();

    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, person);
    const { page } = watched;
    await page.getByRole('link', { name: 'Connected apps' }).click();
    await page.getByRole('heading', { name: 'Connected apps' }).waitFor();
    const listed = String(await page.locator('#apps').textContent());
    expect(listed).toContain('authtoken-compat');
    expect(listed).not.toContain('authtoken-dashboard');
    await watched.screenshot('dashboard-connected-apps');
    await page.getByRole('button', { name: /^Revoke access of / }).click();
    await page.locator('#no-apps').waitFor();
    expect(await running.server.application.provider.AccessToken.find(token)).toBeUndefined();
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('a form posted without its CSRF token is refused, and nothing is created', async () => {
    const person = await newPerson({ totp: false });
    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, person);
    const response = await watched.page.request.post(`${running.server.baseUrl}/dashboard/credentials`, {
      form: { name: 'Forged', scope: 'api:read' },
      maxRedirects: 0,
    });
    expect(response.status()).toBe(403);
    await watched.page.goto(`${running.server.baseUrl}/dashboard/credentials`);
    expect(await watched.page.locator('#no-credentials').isVisible()).toBe(true);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('sign out ends the dashboard session; another customer’s credential cannot be deleted', async () => {
    const owner = await newPerson({ totp: false });
    const created = await running.server.application.clients.create({ name: 'Not yours', grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const watched = await openWatchedPage(running.browser);
    await signInToDashboard(watched, owner);
    const { page } = watched;
    await page.goto(`${running.server.baseUrl}/dashboard/credentials`);
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const refused = await page.request.post(`${running.server.baseUrl}/dashboard/credentials/${created.clientId}/delete`, { form: { csrf }, maxRedirects: 0 });
    expect(refused.headers().location).toBeUndefined();
    expect(refused.status()).toBe(404);
    expect(await running.server.application.clients.get(created.clientId)).toBeDefined();
    expect(await running.server.application.clients.get(DEMO.id)).toBeDefined();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'You are signed out', exact: true }).waitFor();
    await watched.screenshot('dashboard-signed-out');
    const after = await page.request.get(`${running.server.baseUrl}/dashboard`, { maxRedirects: 0 });
    expect(after.status()).toBe(303);
    expect(after.headers().location).toBe('/dashboard/signin');
    // The browser's sign-in ended with it: the dashboard asks for the password again.
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByLabel('Password').waitFor();
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });
});
