import { jest } from '@jest/globals';
import { generateSecret } from 'otplib';
import type { Cookie, Page } from 'playwright-core';

import { signInSessionsOf } from '../../src/provider/index.js';
import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { STORE_KINDS } from '../support/server.js';
import { openWatchedPage, type WatchedPage } from './support/browser.js';
import { demoAppAuthorizationUrl } from './support/callback-app.js';
import { signInToDashboard } from './support/dashboard.js';
import { serverAndChromium } from './support/server-and-chromium.js';

/** Not the defaults, so the tests also show that the configuration is what counts. */
const SESSION_TTL = 7200;
const REMEMBERED_TTL = 5 * 86400;
/** How far an expiry may sit from "now + lifetime" (the time the steps take, and whole seconds). */
const SLACK_SECONDS = 600;
const KEEP_SIGNED_IN = 'Keep me signed in on this device';
/** The provider's sign-in session cookie over http (src/provider/sign-in-sessions.ts). */
const SESSION_COOKIE = '_session';
const DASHBOARD_COOKIE = 'authtoken.dashboard';

jest.setTimeout(60_000);

/** Seconds from now until an instant. */
const secondsUntil = (epochSeconds: number): number => epochSeconds - Date.now() / 1000;

describe.each(STORE_KINDS)('"Keep me signed in on this device" in Chromium (%s store)', (storeKind) => {
  // With a mailbox: the dashboard's password change emails the owner.
  const running = serverAndChromium({
    store: storeKind,
    mailbox: true,
    callbackApp: true,
    env: {
      SIGNIN_SESSION_TTL_SECONDS: String(SESSION_TTL),
      SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: String(REMEMBERED_TTL),
    },
  });

  /** An authorization request of the seeded public client `demo-app`; the code itself is not needed here. */
  async function startAuthorization(page: Page, extra: Record<string, string> = {}): Promise<void> {
    await page.goto(demoAppAuthorizationUrl(running.server.baseUrl, running.callback.redirectUri, extra));
  }

  async function enterPassword(page: Page, customer: Customer, options: { keepSignedIn: boolean; password?: string }): Promise<void> {
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill(options.password ?? customer.password);
    await page.getByLabel(KEEP_SIGNED_IN).setChecked(options.keepSignedIn);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Consent (the first time for this client) and back at the app's callback. */
  async function backAtTheApp(page: Page): Promise<void> {
    const consentOrCallback = page.getByRole('heading', { name: /^Allow / });
    await Promise.race([consentOrCallback.waitFor(), page.waitForURL((url) => url.href.startsWith(running.callback.redirectUri))]);
    if (!page.url().startsWith(running.callback.redirectUri)) await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.href.startsWith(running.callback.redirectUri));
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
  }

  /**
   * A step-up to the MFA context for a signed-in person whose account got an authenticator since (set up on the
   * dashboard, say): only the code is asked for, no login page (so no box), and back at the app.
   */
  async function stepUpWithAuthenticator(page: Page, secret: string): Promise<void> {
    await startAuthorization(page, { acr_values: 'urn:authtoken:acr:mfa' });
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.getByLabel('Code').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await backAtTheApp(page);
  }

  /** A re-authentication (prompt=login): password with the box as given, the next step's code, back at the app. */
  async function reauthenticate(page: Page, customer: Customer, manualKey: string, options: { keepSignedIn: boolean; expectBoxTicked: boolean }): Promise<void> {
    await startAuthorization(page, { prompt: 'login' });
    await expect(page.getByLabel(KEEP_SIGNED_IN).isChecked()).resolves.toBe(options.expectBoxTicked);
    await enterPassword(page, customer, { keepSignedIn: options.keepSignedIn });
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.getByLabel('Code').fill(await totpCode(manualKey, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await backAtTheApp(page);
  }

  /** The cookie of that name the browser would send to `path`. */
  async function cookieNamed(watched: WatchedPage, name: string, path = '/'): Promise<Cookie> {
    const cookie = (await watched.context.cookies(`${running.server.baseUrl}${path}`)).find((candidate) => candidate.name === name);
    if (!cookie) throw new Error(`no ${name} cookie in the browser`);
    return cookie;
  }

  /** The browser's sign-in session cookie and the stored session's expiry (one session per fresh person). */
  async function signInSession(watched: WatchedPage, customer: Customer): Promise<{ cookie: Cookie; storedExpiry: number }> {
    const sessions = await signInSessionsOf(running.server.store, customer.customerId, 10);
    expect(sessions).toHaveLength(1);
    return { cookie: await cookieNamed(watched, SESSION_COOKIE), storedExpiry: (sessions[0]?.expiresAt?.getTime() ?? 0) / 1000 };
  }

  /** A browser-session cookie (no Expires/Max-Age: Chromium reports -1) and the shorter stored lifetime. */
  async function expectTransient(watched: WatchedPage, customer: Customer): Promise<void> {
    const { cookie, storedExpiry } = await signInSession(watched, customer);
    expect(cookie.expires).toBe(-1);
    expect(Math.abs(secondsUntil(storedExpiry) - SESSION_TTL)).toBeLessThan(SLACK_SECONDS);
  }

  /** A persistent cookie that ends with the stored session, which has the remembered lifetime. */
  async function expectRemembered(watched: WatchedPage, customer: Customer): Promise<void> {
    const { cookie, storedExpiry } = await signInSession(watched, customer);
    expect(Math.abs(secondsUntil(cookie.expires) - REMEMBERED_TTL)).toBeLessThan(SLACK_SECONDS);
    expect(Math.abs(secondsUntil(storedExpiry) - REMEMBERED_TTL)).toBeLessThan(SLACK_SECONDS);
  }

  test('unticked (the default): the session cookie ends with the browser and the session lives SIGNIN_SESSION_TTL_SECONDS', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await startAuthorization(page);
    const checkbox = page.getByLabel(KEEP_SIGNED_IN);
    expect(await checkbox.isChecked()).toBe(false);
    expect(await checkbox.getAttribute('type')).toBe('checkbox');
    await watched.screenshot('login-keep-signed-in');
    await enterPassword(page, customer, { keepSignedIn: false });
    await backAtTheApp(page);
    await expectTransient(watched, customer);

    // Counted from the sign-in: a later request that uses the session (oidc-provider saves it again) does not
    // move its end. A lifetime counted from each use would have moved it by the seconds waited.
    const { storedExpiry } = await signInSession(watched, customer);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await startAuthorization(page);
    await backAtTheApp(page);
    expect((await signInSession(watched, customer)).storedExpiry - storedExpiry).toBeLessThan(1);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('ticked: a persistent session cookie, and the session lives SIGNIN_REMEMBERED_SESSION_TTL_SECONDS', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await startAuthorization(page);
    await enterPassword(page, customer, { keepSignedIn: true });
    await backAtTheApp(page);
    await expectRemembered(watched, customer);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('the choice survives a wrong password and the authenticator-code page', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await startAuthorization(page);
    await enterPassword(page, customer, { keepSignedIn: true, password: 'not the password at all' });
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not correct');
    // The page shown again keeps the box as it was ticked.
    expect(await page.getByLabel(KEEP_SIGNED_IN).isChecked()).toBe(true);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.getByLabel('Code').fill(await totpCode(String(customer.totpSecret)));
    await page.getByRole('button', { name: 'Verify' }).click();
    await backAtTheApp(page);
    await expectRemembered(watched, customer);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  // A step-up that only adds the second factor has no login page (so no box) and keeps the session's choice;
  // a re-authentication with the password shows that choice on the box and decides anew by it.
  test.each([
    { signedInTicked: false, reauthenticatedTicked: true },
    { signedInTicked: true, reauthenticatedTicked: false },
  ])('box $signedInTicked at sign-in: a step-up keeps it; a re-authentication shows it and turns it to $reauthenticatedTicked', async ({ signedInTicked, reauthenticatedTicked }) => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    const expectChoice = (remembered: boolean) => (remembered ? expectRemembered(watched, customer) : expectTransient(watched, customer));
    await startAuthorization(page);
    await enterPassword(page, customer, { keepSignedIn: signedInTicked });
    await backAtTheApp(page);
    await expectChoice(signedInTicked);

    const secret = generateSecret();
    await running.server.application.mfa.totp.install(customer.customerId, secret);
    await stepUpWithAuthenticator(page, secret);
    await expectChoice(signedInTicked);

    await reauthenticate(page, customer, secret, { keepSignedIn: reauthenticatedTicked, expectBoxTicked: signedInTicked });
    await expectChoice(reauthenticatedTicked);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('the dashboard cookie ends with the browser unless the box was ticked, also after a password change', async () => {
    for (const keepSignedIn of [false, true]) {
      const customer = await createCustomer(running.server, { totp: true });
      const watched = await openWatchedPage(running.browser);
      const { page } = watched;
      await signInToDashboard(running.server.baseUrl, watched, customer, { keepSignedIn });
      const expectDashboardCookie = async () => {
        const cookie = await cookieNamed(watched, DASHBOARD_COOKIE, '/dashboard');
        if (keepSignedIn) expect(Math.abs(secondsUntil(cookie.expires) - running.server.config.dashboard.sessionTtlSeconds)).toBeLessThan(SLACK_SECONDS);
        else expect(cookie.expires).toBe(-1);
      };
      await expectDashboardCookie();
      if (keepSignedIn) await expectRemembered(watched, customer);
      else await expectTransient(watched, customer);

      // A password change gives this browser a fresh dashboard session (and cookie): with the same choice.
      await page.goto(`${running.server.baseUrl}/dashboard/security`);
      await page.getByLabel('Current password').fill(customer.password);
      await page.getByLabel('New password').fill('a completely new passphrase 2026');
      await page.getByRole('button', { name: 'Change password' }).click();
      expect(await page.getByRole('status').textContent()).toContain('Your password is changed');
      await expectDashboardCookie();
      expect(watched.problems).toEqual([]);
      await watched.context.close();
    }
  });
});
