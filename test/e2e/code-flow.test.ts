import { randomBytes } from 'node:crypto';

import { jest } from '@jest/globals';
import * as oidc from 'openid-client';
import { generate, generateSecret } from 'otplib';
import type { Page } from 'playwright-core';

import { openWatchedPage, type WatchedPage } from './support/browser.js';
import { serverAndChromium } from './support/server-and-chromium.js';

const PASSWORD = 'correct horse battery staple';

interface Person {
  email: string;
  customerId: string;
  totpSecret?: string;
}

/** A TOTP code for a step after `stepsAhead` steps from now (each step is accepted once per account). */
const totpCode = (secret: string, stepsAhead = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

// Several page steps per test, each bounded by Playwright's own timeout (15 s): room for a loaded machine.
jest.setTimeout(60_000);

describe('authorization code + PKCE through our pages, in Chromium', () => {
  // The relying party's callback is a real little HTTP server, so the browser really lands somewhere.
  const running = serverAndChromium({ store: 'mongodb', mailbox: true, callbackApp: true });
  let publicClient: oidc.Configuration;
  let confidentialClient: oidc.Configuration;

  beforeAll(async () => {
    const insecure = { execute: [oidc.allowInsecureRequests] };
    publicClient = await oidc.discovery(new URL(running.server.baseUrl), 'demo-app', undefined, oidc.None(), insecure);
    confidentialClient = await oidc.discovery(new URL(running.server.baseUrl), 'demo-client', undefined, oidc.ClientSecretBasic('demo-secret'), insecure);
  });
  afterAll(() => {
    // The server's log lines stay readable after the fixture has stopped it.
    if (process.env.E2E_DUMP_LOGS) process.stdout.write(`${running.server.logs.lines.filter((line) => !line.includes('"level":30')).join('\n')}\n`);
  });

  async function newPerson(options: { totp: boolean }): Promise<Person> {
    const email = `person-${randomBytes(4).toString('hex')}@example.com`;
    const account = await running.server.application.accounts.create({ email, password: PASSWORD });
    if (!options.totp) return { email, customerId: account.customerId };
    const totpSecret = generateSecret();
    await running.server.application.mfa.totp.install(account.customerId, totpSecret);
    await running.server.application.mfa.generateRecoveryCodes(account.customerId);
    return { email, customerId: account.customerId, totpSecret };
  }

  const openPage = (): Promise<WatchedPage> => openWatchedPage(running.browser);

  async function startAuthorization(config: oidc.Configuration, page: Page, extra: Record<string, string> = {}) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: running.callback.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      ...extra,
    });
    await page.goto(url.href);
    return { codeVerifier, state };
  }

  async function signIn(page: Page, person: Person, password = PASSWORD): Promise<void> {
    await page.getByLabel('Email or customer ID').fill(person.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function enterCode(page: Page, code: string): Promise<void> {
    await page.getByLabel(/^(Code|Recovery code)$/).fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  async function finishAtCallback(config: oidc.Configuration, page: Page, checks: { codeVerifier: string; state: string }) {
    await page.waitForURL((url) => url.href.startsWith(running.callback.redirectUri));
    return oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state });
  }

  test('Cancel on the login page and on the second-factor page sends the person back to the app with access_denied', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    for (const atSecondFactor of [false, true]) {
      const { state } = await startAuthorization(publicClient, page);
      if (atSecondFactor) {
        await signIn(page, person);
        await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
      }
      await page.getByRole('button', { name: atSecondFactor ? 'Cancel sign-in' : 'Cancel' }).click();
      await page.waitForURL((url) => url.href.startsWith(running.callback.redirectUri));
      const landed = new URL(page.url());
      expect(landed.searchParams.get('error')).toBe('access_denied');
      expect(landed.searchParams.get('state')).toBe(state);
    }
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('public PKCE client: login -> TOTP -> consent -> code -> tokens -> userinfo', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await watched.screenshot('login');
    await signIn(page, person);
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await watched.screenshot('mfa-totp');
    await enterCode(page, await totpCode(String(person.totpSecret)));
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    await watched.screenshot('consent');
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    const claims = tokens.claims();
    expect(claims?.sub).toBe(person.customerId);
    expect(claims?.acr).toBe('urn:authtoken:acr:mfa');
    expect(claims?.amr).toEqual(['pwd', 'otp', 'mfa']);
    const userinfo = await oidc.fetchUserInfo(publicClient, tokens.access_token, person.customerId);
    expect(userinfo.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('confidential client: consent is remembered, API token for the requested resource', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    const first = await startAuthorization(confidentialClient, page, { scope: 'openid api:read' });
    await signIn(page, person);
    await enterCode(page, await totpCode(String(person.totpSecret)));
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(confidentialClient, page, first);
    expect(tokens.scope).toContain('api:read');
    const introspection = await oidc.tokenIntrospection(confidentialClient, tokens.access_token);
    expect(introspection).toMatchObject({
      active: true,
      sub: person.customerId,
      client_id: 'demo-client',
      acr: 'urn:authtoken:acr:mfa',
      amr: ['pwd', 'otp', 'mfa'],
    });

    // Same browser session, same scopes: no login, no consent page, straight back with a code.
    const second = await startAuthorization(confidentialClient, page, { scope: 'openid api:read' });
    const again = await finishAtCallback(confidentialClient, page, second);
    expect(again.claims()?.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('the whole sign-in works with the keyboard alone and with JavaScript turned off', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openWatchedPage(running.browser, { javaScriptEnabled: false });
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    // Focus starts in the username field (autofocus); Tab moves on, Enter submits. Typing waits for that
    // focus: on a loaded machine Chromium may apply autofocus after the page reports it is loaded.
    await page.locator('#username:focus').waitFor();
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.locator('#code:focus').waitFor();
    await page.keyboard.type(await totpCode(String(person.totpSecret)));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    await page.locator('button[value=allow]:focus').waitFor();
    await page.keyboard.press('Enter');
    const tokens = await finishAtCallback(publicClient, page, checks);
    expect(tokens.claims()?.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  // Authenticator apps show "123 456"; what the person copies then carries the space. The field must take the
  // seven characters whole (the server drops the space): a limit of six cut the pasted code to "123 45".
  test('a code pasted as authenticator apps show it, with a space in the middle, is taken whole', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    const code = await totpCode(String(person.totpSecret));
    const shown = `${code.slice(0, 3)} ${code.slice(3)}`;
    await page.locator('#code').focus();
    // insertText is what a paste does to the field: the browser applies maxlength to it.
    await page.keyboard.insertText(shown);
    expect(await page.locator('#code').inputValue()).toBe(shown);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    expect(tokens.claims()?.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('a wrong password shows the error beside the form and keeps the username', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    await startAuthorization(publicClient, page);
    await signIn(page, person, 'not the password at all');
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not correct');
    expect(await page.getByLabel('Email or customer ID').inputValue()).toBe(person.email);
    await watched.screenshot('login-error');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('a wrong code keeps the sign-in: the right code then succeeds, and the session held nobody before it', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await enterCode(page, '000000');
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not valid');
    await watched.screenshot('mfa-wrong-code');

    // Between password and second factor the provider session must not know the account: a fresh
    // authorization request in the same browser lands on the login page, not on consent or a code.
    const probe = await watched.context.newPage();
    await probe.goto(
      oidc.buildAuthorizationUrl(publicClient, {
        redirect_uri: running.callback.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        prompt: 'none',
      }).href,
    );
    await probe.waitForURL((url) => url.href.startsWith(running.callback.redirectUri));
    expect(new URL(probe.url()).searchParams.get('error')).toBe('login_required');
    await probe.close();

    await enterCode(page, await totpCode(String(person.totpSecret)));
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    expect(tokens.claims()?.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('email-code path: the code arrives by SMTP and signs the person in', async () => {
    const person = await newPerson({ totp: true });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await page.getByRole('link', { name: 'Get a code by email' }).click();
    const before = running.mailbox.messages.length;
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('We sent you a code');
    await watched.screenshot('mfa-email');
    await enterCode(page, await running.mailbox.codeSentTo(person.email, before));
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    expect(tokens.claims()?.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('recovery-code path: a recovery code signs in once, and not twice', async () => {
    const person = await newPerson({ totp: true });
    const [recoveryCode] = await running.server.application.mfa.generateRecoveryCodes(person.customerId);
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await watched.screenshot('mfa-recovery');
    await enterCode(page, String(recoveryCode));
    await page.getByRole('button', { name: 'Allow' }).click();
    await finishAtCallback(publicClient, page, checks);
    await watched.context.close();

    const second = await openPage();
    await startAuthorization(publicClient, second.page);
    await signIn(second.page, person);
    await second.page.getByRole('link', { name: 'Use a recovery code' }).click();
    await enterCode(second.page, String(recoveryCode));
    await expect(second.page.getByRole('alert').textContent()).resolves.toContain('not valid');
    expect([...watched.problems, ...second.problems]).toEqual([]);
    await second.context.close();
  });

  test('forced enrollment: acr_values asks for MFA, the person without a factor enrolls TOTP and gets recovery codes', async () => {
    const person = await newPerson({ totp: false });
    // What the password alone got before: it ends when the account enrolls its first factor.
    const passwordOnly = await oidc.genericGrantRequest(confidentialClient, 'password', { username: person.email, password: PASSWORD, scope: 'api:read' });
    expect((await oidc.tokenIntrospection(confidentialClient, passwordOnly.access_token)).active).toBe(true);
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page, { acr_values: 'urn:authtoken:acr:mfa' });
    await signIn(page, person);
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    expect(await page.locator('figure.qr svg').count()).toBe(1);
    await watched.screenshot('enroll');
    const manualKey = String(await page.locator('#manual-key').textContent()).replace(/\s+/g, '');
    const mailBefore = running.mailbox.messages.length;
    await page.getByLabel('Code from the app').fill(await totpCode(manualKey));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    // The owner is told a factor was bound (NIST SP 800-63B 6.1.2).
    expect((await running.mailbox.nextMessageTo(person.email, mailBefore)).text).toContain('authenticator app was set up as the second factor');
    expect(await page.locator('#recovery-codes li').count()).toBe(10);
    await watched.screenshot('recovery-codes');
    const download = await page.request.get(new URL(await page.getByRole('link', { name: 'Download as a text file' }).getAttribute('href') ?? '', page.url()).href);
    expect((await download.text()).split('\n').filter((line) => /^[A-Za-z0-9-]{6,}$/.test(line))).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them, continue' }).click();
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    expect(tokens.claims()?.acr).toBe('urn:authtoken:acr:mfa');
    expect(await running.server.application.mfa.methodsFor(person.customerId)).toContain('totp');
    // The enrolling sign-in's own token works; the password-only one from before does not.
    expect((await oidc.fetchUserInfo(publicClient, tokens.access_token, person.customerId)).sub).toBe(person.customerId);
    expect((await oidc.tokenIntrospection(confidentialClient, passwordOnly.access_token)).active).toBe(false);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('step-up: a password-only session asked for acr mfa gives the password again before it can add a factor', async () => {
    const person = await newPerson({ totp: false });
    const watched = await openPage();
    const { page } = watched;
    const first = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await page.getByRole('button', { name: 'Allow' }).click();
    const passwordOnly = await finishAtCallback(publicClient, page, first);
    expect(passwordOnly.claims()?.acr).toBe('urn:authtoken:acr:pwd');

    // The same session now asks for the MFA context. No factor yet: whoever holds the browser must not add one
    // without the password (that factor would then pass the dashboard's re-authentication), so it is asked first.
    const second = await startAuthorization(publicClient, page, { acr_values: 'urn:authtoken:acr:mfa' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Enter your password to set up two-step verification');
    const enrollUrl = new URL(page.url());
    enrollUrl.pathname = `${enrollUrl.pathname}/enroll`;
    await page.goto(enrollUrl.href);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, person);
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    const manualKey = String(await page.locator('#manual-key').textContent()).replace(/\s+/g, '');
    await page.getByLabel('Code from the app').fill(await totpCode(manualKey));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('button', { name: 'I have saved them, continue' }).click();
    const stepped = await finishAtCallback(publicClient, page, second);
    expect(stepped.claims()?.acr).toBe('urn:authtoken:acr:mfa');
    expect(stepped.claims()?.sub).toBe(person.customerId);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('logout: RP-initiated logout asks, signs out, and the next request needs a login again', async () => {
    const person = await newPerson({ totp: false });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(publicClient, page);
    await signIn(page, person);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(publicClient, page, checks);
    await page.goto(oidc.buildEndSessionUrl(publicClient, { id_token_hint: String(tokens.id_token) }).href);
    await page.getByRole('heading', { name: 'Sign out' }).waitFor();
    await watched.screenshot('logout-confirm');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await startAuthorization(publicClient, page);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('forgot password: an emailed single-use link sets a new password, ends sessions and revokes tokens', async () => {
    const person = await newPerson({ totp: false });
    const watched = await openPage();
    const { page } = watched;
    const checks = await startAuthorization(confidentialClient, page, { scope: 'openid api:read' });
    await signIn(page, person);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtCallback(confidentialClient, page, checks);
    expect((await oidc.tokenIntrospection(confidentialClient, tokens.access_token)).active).toBe(true);

    await startAuthorization(publicClient, page, { prompt: 'login' });
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    const before = running.mailbox.messages.length;
    await page.getByLabel('Email').fill(person.email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await page.getByRole('status').waitFor();
    await watched.screenshot('forgot-password');
    const raw = (await running.mailbox.nextMessageTo(person.email, before)).text;
    const link = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec(raw)?.[0];
    expect(link).toBeDefined();
    await page.goto(String(link));
    await page.getByLabel('New password').fill('password');
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Choose another password');
    const newPassword = 'a completely new passphrase 2026';
    await page.getByLabel('New password').fill(newPassword);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
    await watched.screenshot('password-changed');

    expect((await oidc.tokenIntrospection(confidentialClient, tokens.access_token)).active).toBe(false);
    const reused = await page.goto(String(link));
    expect(reused?.status()).toBe(400);
    await startAuthorization(publicClient, page);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(page, person);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not correct');
    await signIn(page, person, newPassword);
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('a form without its CSRF token is refused with a page, not processed', async () => {
    const watched = await openPage();
    const { page } = watched;
    await startAuthorization(publicClient, page);
    const action = await page.locator('form').first().getAttribute('action');
    const response = await page.request.post(new URL(String(action), running.server.baseUrl).href, {
      form: { username: 'someone@example.com', password: PASSWORD, csrf: 'forged' },
    });
    expect(response.status()).toBe(403);
    expect(await response.text()).toContain('invalid_csrf_token');
    await watched.context.close();
  });
});
