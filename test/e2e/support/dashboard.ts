import { randomBytes } from 'node:crypto';

import { generate, generateSecret } from 'otplib';
import type { Page } from 'playwright-core';

import type { TestServer } from '../../support/server.js';
import type { WatchedPage } from './browser.js';

/** The password every dashboard test person has. */
export const PASSWORD = 'correct horse battery staple';

export interface Person {
  email: string;
  customerId: string;
  totpSecret?: string;
}

const totpCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) });

/** A new active account, with TOTP installed when asked. */
export async function newPerson(server: TestServer, options: { totp: boolean }): Promise<Person> {
  const email = `customer-${randomBytes(4).toString('hex')}@example.com`;
  const account = await server.application.accounts.create({ email, password: PASSWORD });
  if (!options.totp) return { email, customerId: account.customerId };
  const totpSecret = generateSecret();
  await server.application.mfa.totp.install(account.customerId, totpSecret);
  return { email, customerId: account.customerId, totpSecret };
}

/** /dashboard -> our login page -> (second factor) -> consent -> back on the overview. */
export async function signInToDashboard(server: TestServer, watched: WatchedPage, person: Person): Promise<void> {
  const { page } = watched;
  await page.goto(`${server.baseUrl}/dashboard`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await watched.screenshot('dashboard-login');
  await page.getByLabel('Email or customer ID').fill(person.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (person.totpSecret) {
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.getByLabel('Code').fill(await totpCode(person.totpSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await page.getByRole('heading', { name: /^Allow / }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();
}

/** Fills and submits the "Create a credential" form of the credentials page. */
export async function createCredential(page: Page, name: string, scopes: string[]): Promise<void> {
  await page.getByLabel('Name').fill(name);
  for (const scope of scopes) await page.getByRole('checkbox', { name: scope }).check();
  await page.getByRole('button', { name: 'Create credential' }).click();
}
