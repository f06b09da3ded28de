import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { createCustomer, totpCode } from '../support/dashboard.js';
import { openWatchedPage } from './support/browser.js';
import { signInToDashboard } from './support/dashboard.js';
import { serverAndChromium } from './support/server-and-chromium.js';

const NEW_PASSWORD = 'a fresh passphrase from the browser';

/** Issue 7 in Chromium: sign-up with the emailed link, TOTP enrollment and password change on the security page. */
describe('dashboard self-service in Chromium', () => {
  const running = serverAndChromium({ store: 'mongodb', mailbox: true });

  test('sign up from the login page, open the emailed link, confirm, then sign in (JavaScript off)', async () => {
    const email = `browser-${randomBytes(4).toString('hex')}@example.com`;
    const password = 'my browser sign-up passphrase';
    const watched = await openWatchedPage(running.browser, { javaScriptEnabled: false });
    const { page } = watched;
    await page.goto(`${running.server.baseUrl}/dashboard`);
    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('at least 12 characters');
    expect(await page.getByLabel('Email').inputValue()).toBe(email);
    await watched.screenshot('dashboard-sign-up-error');

    const before = running.mailbox.messages.length;
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    await watched.screenshot('dashboard-sign-up-sent');

    const message = await running.mailbox.nextMessageTo(email, before);
    const link = /(http:\/\/\S+\/dashboard\/verify-email\?token=[A-Za-z0-9_-]+)/.exec(message.text)?.[1];
    expect(link).toBeDefined();
    await page.goto(String(link));
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Confirm and activate my account' }).click();
    await page.getByRole('heading', { name: 'Your account is active' }).waitFor();
    await watched.screenshot('dashboard-email-verified');
    await page.getByRole('link', { name: 'Sign in to your dashboard' }).click();

    await page.getByLabel('Email or customer ID').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();
    const account = await running.server.application.accounts.findByEmail(email);
    expect(await page.locator('#customer-id').textContent()).toBe(account?.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('enroll TOTP from the security page: QR code, key, confirm, recovery codes once with a download (JavaScript off)', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser, { javaScriptEnabled: false });
    const { page } = watched;
    await signInToDashboard(running.server.baseUrl, watched, customer);
    await page.getByRole('link', { name: 'Security', exact: true }).click();
    await page.getByRole('heading', { name: 'Security', exact: true }).waitFor();
    await watched.screenshot('dashboard-security');

    const enroll = page.locator('#enroll-totp');
    await enroll.getByLabel('Your password').fill(customer.password);
    await enroll.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    expect(await page.locator('figure.qr svg').count()).toBe(1);
    await watched.screenshot('dashboard-totp-enroll');
    const secret = String(await page.locator('#manual-key').textContent()).replace(/\s+/g, '');
    await page.getByLabel('Code from the app').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();

    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const codes = await page.locator('#recovery-codes li').allTextContents();
    expect(codes).toHaveLength(10);
    await watched.screenshot('dashboard-recovery-codes');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as a text file' }).click()]);
    const file = await readFile(await download.path(), 'utf8');
    for (const code of codes) expect(file).toContain(code.trim());

    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('heading', { name: 'Security', exact: true }).waitFor();
    expect(await page.locator('#totp-status').textContent()).toMatch(/^On\./);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual(expect.arrayContaining(['totp', 'recovery_code']));
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('change the password: the other browser is signed out, this one stays, the owner is emailed', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const here = await openWatchedPage(running.browser);
    const elsewhere = await openWatchedPage(running.browser);
    await signInToDashboard(running.server.baseUrl, here, customer);
    await signInToDashboard(running.server.baseUrl, elsewhere, customer);

    const { page } = here;
    await page.goto(`${running.server.baseUrl}/dashboard/security`);
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await page.locator('#password-error').textContent()).toBe('The current password is not correct.');
    await here.screenshot('dashboard-password-wrong');

    const before = running.mailbox.messages.length;
    await page.getByLabel('Current password').fill(customer.password);
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await page.getByRole('status').textContent()).toContain('Your password is changed');
    await here.screenshot('dashboard-password-changed');

    // The other browser's dashboard and provider sessions are gone: it lands on the login page.
    await elsewhere.page.goto(`${running.server.baseUrl}/dashboard`);
    await elsewhere.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await elsewhere.screenshot('dashboard-other-session-ended');
    // This one is still signed in.
    await page.goto(`${running.server.baseUrl}/dashboard`);
    await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();

    expect((await running.mailbox.nextMessageTo(customer.email, before)).raw).toContain('Your password was changed');
    expect(here.problems).toEqual([]);
    expect(elsewhere.problems).toEqual([]);
    await here.context.close();
    await elsewhere.context.close();
  });

  test('new recovery codes after re-authentication, then remove TOTP with one of them; the activity page shows it all', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await signInToDashboard(running.server.baseUrl, watched, customer);
    await page.getByRole('link', { name: 'Security', exact: true }).click();
    expect(await page.locator('#totp-status').textContent()).toMatch(/^On\./);

    const regenerate = page.locator('#regenerate-recovery-codes');
    await regenerate.getByLabel('Your password').fill('not my password');
    await regenerate.getByRole('button', { name: 'Get new recovery codes' }).click();
    await page.locator('#recovery-error').waitFor();
    await watched.screenshot('dashboard-recovery-reauth-failed');
    await page.locator('#regenerate-recovery-codes').getByLabel('Your password').fill(customer.password);
    await page.locator('#regenerate-recovery-codes').getByRole('button', { name: 'Get new recovery codes' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    const codes = (await page.locator('#recovery-codes li').allTextContents()).map((code) => code.trim());
    expect(codes).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    expect(await page.locator('#recovery-status').textContent()).toContain('You have 10 unused recovery codes');

    // A recovery code is a second factor too: it proves it is the owner, and is spent doing so.
    const before = running.mailbox.messages.length;
    const remove = page.locator('#remove-totp');
    await remove.getByLabel('or a code from your authenticator app, or a recovery code').fill(String(codes[0]));
    await remove.getByRole('button', { name: 'Remove authenticator app' }).click();
    expect(await page.locator('#security-notice').textContent()).toBe('The authenticator app is removed from your account.');
    expect(await page.locator('#totp-status').textContent()).toMatch(/^Off\./);
    await watched.screenshot('dashboard-totp-removed');
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual([]);
    expect((await running.mailbox.nextMessageTo(customer.email, before)).raw).toContain('The authenticator app (second factor) was removed');

    await page.getByRole('link', { name: 'Activity' }).click();
    const rows = page.locator('#activity tbody tr');
    await rows.first().waitFor();
    const activity = (await rows.allTextContents()).map((row) => row.replace(/\s+/g, ' '));
    expect(activity.find((row) => row.includes('mfa.removed'))).toContain('success');
    expect(activity.find((row) => row.includes('mfa.recovery_codes_regenerated') && row.includes('success'))).toBeDefined();
    expect(activity.find((row) => row.includes('mfa.recovery_codes_regenerated') && row.includes('failure'))).toBeDefined();
    await watched.screenshot('dashboard-activity-security');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });
});
