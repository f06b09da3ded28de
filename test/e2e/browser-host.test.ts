import { jest } from '@jest/globals';

import { createCustomer } from '../support/dashboard.js';
import { openWatchedPage } from './support/browser.js';
import { demoAppAuthorizationUrl } from './support/callback-app.js';
import { serverAndChromium } from './support/server-and-chromium.js';

jest.setTimeout(60_000);

/**
 * What the server publishes and checks comes from ISSUER (test/integration/issuer-pinned-urls.test.ts), but a
 * browser may use another name for the same server (here `localhost` while ISSUER says 127.0.0.1): its
 * cookies are on that name, so the provider's redirects back to /auth and its logout form must stay on it.
 * Sending the browser to ISSUER's host lost the interaction's cookies ("authorization request has expired").
 */
describe('a browser using another host name than ISSUER\u2019s, in Chromium', () => {
  const running = serverAndChromium({ store: 'memory', callbackApp: true });
  let otherName = '';

  beforeAll(() => {
    const issuer = new URL(running.server.config.issuer);
    expect(issuer.hostname).toBe('127.0.0.1');
    otherName = `http://localhost:${issuer.port}`;
  });

  test('sign-in, consent and logout all complete on the name the browser used', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await page.goto(demoAppAuthorizationUrl(otherName, running.callback.redirectUri));
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    expect(new URL(page.url()).origin).toBe(otherName);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.href.startsWith(running.callback.redirectUri));
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();

    await page.goto(`${otherName}/session/end`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(new URL(page.url()).origin).toBe(otherName);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });
});
