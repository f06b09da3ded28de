import { jest } from '@jest/globals';
import type { Page } from 'playwright-core';

import { createCustomer } from '../support/dashboard.js';
import { contrastShortfalls, focusRingShortfalls } from './support/accessibility.js';
import { openWatchedPage } from './support/browser.js';
import { signInToDashboard } from './support/dashboard.js';
import { serverAndChromium } from './support/server-and-chromium.js';

jest.setTimeout(60_000);

const SCHEMES = ['light', 'dark'] as const;

/** WCAG 2.2 AA checks of the pages people sign in and manage their account with, measured in Chromium. */
describe('accessibility of the pages in Chromium', () => {
  const running = serverAndChromium({ store: 'memory' });

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
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await page.goto(`${running.server.baseUrl}/dashboard`);
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
    const customer = await createCustomer(running.server, { totp: true });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    const found: Record<string, string[]> = {};
    const measure = async (name: string) => {
      for (const scheme of SCHEMES) {
        await page.emulateMedia({ colorScheme: scheme });
        found[`${name} (${scheme})`] = (await contrastShortfalls(page)).fieldBorders;
      }
    };
    await page.goto(`${running.server.baseUrl}/dashboard`);
    await measure('sign-in');
    await page.getByLabel('Email or customer ID').fill(customer.email);
    await page.getByLabel('Password').fill(customer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Code').waitFor();
    await measure('second factor');
    await page.goto(`${running.server.baseUrl}/account/forgot`);
    await measure('forgot password');
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((key) => [key, []])));
    await watched.context.close();
  });

  test('the dashboard fits a 320 px wide window (400% zoom): no page-wide horizontal scroll, a wide table scrolls in a region reached by Tab', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await signInToDashboard(running.server.baseUrl, watched, customer);
    await page.goto(`${running.server.baseUrl}/dashboard/credentials`);
    await page.getByLabel('Name').fill('Nightly export to the data warehouse');
    await page.getByRole('checkbox', { name: 'api:read' }).check();
    await page.getByLabel('Your password').fill(customer.password);
    await page.getByRole('button', { name: 'Create credential' }).click();
    await page.getByRole('heading', { name: /created$/ }).waitFor();

    await page.setViewportSize({ width: 320, height: 640 });
    const overflowing: Record<string, unknown> = {};
    for (const path of ['', '/credentials', '/apps', '/tokens', '/sessions', '/activity', '/security']) {
      await page.goto(`${running.server.baseUrl}/dashboard${path}`);
      overflowing[`/dashboard${path}`] = await page.evaluate(`(() => {
        const width = document.documentElement.clientWidth;
        const page = document.documentElement.scrollWidth > width ? 'the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px' : null;
        // A table wider than the window scrolls inside its own region, which the keyboard can reach and scroll.
        const tables = [...document.querySelectorAll('table')].filter((table) => table.scrollWidth > width).map((table) => {
          const region = table.parentElement;
          const scrolls = getComputedStyle(region).overflowX === 'auto' && region.clientWidth <= width;
          return scrolls && region.tabIndex === 0 && region.getAttribute('role') === 'region' && region.getAttribute('aria-label') ? null : 'a wide table without a scrolling region: ' + (region.outerHTML.slice(0, 80));
        }).filter(Boolean);
        // What sticks out past the window's edge, outside the tables' regions (for the failure message).
        const sticking = [...document.querySelectorAll('body *')].filter((element) => !element.closest('.table-scroll table') && element.getBoundingClientRect().right > width + 1).slice(0, 5).map((element) => '<' + element.tagName.toLowerCase() + '> ' + (element.textContent || '').trim().slice(0, 40));
        return page || tables.length > 0 ? { page, tables, sticking } : null;
      })()`);
    }
    expect(overflowing).toEqual(Object.fromEntries(Object.keys(overflowing).map((key) => [key, null])));
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('after a refused dashboard form, focus is in the field to correct, which names the error', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await signInToDashboard(running.server.baseUrl, watched, customer);
    /** The focused field after the page loaded: its id and the text of what describes it. */
    const focused = () =>
      page.evaluate(`(() => {
        const field = document.activeElement;
        const description = (field.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent.trim()).join(' ');
        return { id: field.id || field.tagName, invalid: field.getAttribute('aria-invalid'), description };
      })()`);

    await page.goto(`${running.server.baseUrl}/dashboard/credentials`);
    await page.getByRole('button', { name: 'Create credential' }).click();
    await page.getByRole('alert').waitFor();
    expect(await focused()).toEqual({ id: 'name', invalid: 'true', description: 'Give the credential a name of 1 to 80 characters.' });

    await page.getByLabel('Name').fill('Reports');
    await page.getByRole('checkbox', { name: 'api:read' }).check();
    await page.getByLabel('Your password').fill('not the password at all');
    await page.getByRole('button', { name: 'Create credential' }).click();
    await page.getByRole('alert').waitFor();
    expect(await focused()).toEqual({ id: 'create-confirm-password', invalid: 'true', description: 'The password is not correct.' });

    await page.goto(`${running.server.baseUrl}/dashboard/security`);
    await page.getByLabel('Current password').fill('not the password at all');
    await page.getByLabel('New password').fill('a brand new long passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').waitFor();
    expect(await focused()).toEqual({ id: 'current-password', invalid: 'true', description: 'The current password is not correct.' });

    await page.locator('#enroll-password').fill('not the password at all');
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.getByRole('alert').waitFor();
    expect(await focused()).toEqual({ id: 'enroll-password', invalid: 'true', description: 'The password is not correct.' });
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('TOTP enrollment: the QR code is one image with a name, and its key is on the page as text', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const watched = await openWatchedPage(running.browser);
    const { page } = watched;
    await signInToDashboard(running.server.baseUrl, watched, customer);
    await page.goto(`${running.server.baseUrl}/dashboard/security`);
    await page.locator('#enroll-password').fill(customer.password);
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    // What assistive technology gets of the QR code: a single named image, no unnamed graphic inside it.
    expect(await page.locator('figure.qr').ariaSnapshot()).toBe('- img "QR code of your authenticator key. The key is also written out below."');
    expect(String(await page.locator('#manual-key').textContent()).replace(/\s+/g, '')).toMatch(/^[A-Z2-7]{16,}$/);
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });
});
