import { jest } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';

import { createCustomer } from '../support/dashboard.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { contrastShortfalls, focusRingShortfalls } from './support/accessibility.js';
import { launchChromium, openWatchedPage } from './support/browser.js';

jest.setTimeout(60_000);

const SCHEMES = ['light', 'dark'] as const;

/** WCAG 2.2 AA checks of the pages people sign in and manage their account with, measured in Chromium. */
describe('accessibility of the pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer({ store: 'memory' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Contrast shortfalls of the page as shown now, in both colour schemes (the stylesheet follows the system's). */
  async function shortfallsInBothSchemes(page: Page, name: string) {
    const found: Record<string, string[]> = {};
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      const { text } = await contrastShortfalls(page);
      found[`${name} (${scheme}) text`] = text;
      found[`${name} (${scheme}) focus`] = await focusRingShortfalls(page);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    return found;
  }

  test('text, links, errors, buttons and focus rings keep AA contrast in the light and the dark colour scheme', async () => {
    const customer = await createCustomer(server, { totp: false });
    const watched = await openWatchedPage(browser);
    const { page } = watched;
    await page.goto(`${server.baseUrl}/dashboard`);
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    const found = await shortfallsInBothSchemes(page, 'sign-in with an error');

    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Deny' }).waitFor();
    Object.assign(found, await shortfallsInBothSchemes(page, 'consent'));

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();
    Object.assign(found, await shortfallsInBothSchemes(page, 'dashboard'));

    const expected = Object.fromEntries(Object.keys(found).map((key) => [key, []]));
    expect(found).toEqual(expected);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('text fields are outlined at 3:1 or more against the page, in both colour schemes', async () => {
    const customer = await createCustomer(server, { totp: true });
    const watched = await openWatchedPage(browser);
    const { page } = watched;
    const found: Record<string, string[]> = {};
    const measure = async (name: string) => {
      for (const scheme of SCHEMES) {
        await page.emulateMedia({ colorScheme: scheme });
        found[`${name} (${scheme})`] = (await contrastShortfalls(page)).fieldBorders;
      }
    };
    await page.goto(`${server.baseUrl}/dashboard`);
    await measure('sign-in');
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code').waitFor();
    await measure('second factor');
    await page.goto(`${server.baseUrl}/account/forgot`);
    await measure('forgot password');
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((key) => [key, []])));
    await watched.context.close();
  });
});
