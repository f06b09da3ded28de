import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import { jest } from '@jest/globals';
import type { Browser } from 'playwright-core';

import { createCustomer } from '../support/dashboard.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { launchChromium, openWatchedPage } from './support/browser.js';

jest.setTimeout(60_000);

/**
 * What the server publishes and checks comes from ISSUER (test/integration/issuer-pinned-urls.test.ts), but a
 * browser may use another name for the same server (here `localhost` while ISSUER says 127.0.0.1): its
 * cookies are on that name, so the provider's redirects back to /auth and its logout form must stay on it.
 * Sending the browser to ISSUER's host lost the interaction's cookies ("authorization request has expired").
 */
describe('a browser using another host name than ISSUER\u2019s, in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let callbackServer: Server;
  let redirectUri = '';
  let otherName = '';

  beforeAll(async () => {
    callbackServer = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>callback</title><p>back at the app</p>');
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', () => resolve()));
    const address = callbackServer.address();
    redirectUri = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/callback`;
    server = await startTestServer({ store: 'memory', env: { DEMO_REDIRECT_URI: redirectUri } });
    const issuer = new URL(server.config.issuer);
    expect(issuer.hostname).toBe('127.0.0.1');
    otherName = `http://localhost:${issuer.port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise<void>((resolve) => callbackServer?.close(() => resolve()));
  });

  test('sign-in, consent and logout all complete on the name the browser used', async () => {
    const customer = await createCustomer(server, { totp: false });
    const watched = await openWatchedPage(browser);
    const { page } = watched;
    const parameters = new URLSearchParams({
      client_id: 'demo-app',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: redirectUri,
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
      code_challenge_method: 'S256',
    });
    await page.goto(`${otherName}/auth?${parameters.toString()}`);
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /^Allow / }).waitFor();
    expect(new URL(page.url()).origin).toBe(otherName);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.href.startsWith(redirectUri));
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();

    await page.goto(`${otherName}/session/end`);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    expect(new URL(page.url()).origin).toBe(otherName);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });
});
