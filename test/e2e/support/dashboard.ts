import type { Customer } from '../../support/dashboard.js';
import { totpCode } from '../../support/dashboard.js';
import type { WatchedPage } from './browser.js';

/**
 * /dashboard -> our login page -> (second factor) -> (consent, the first time) -> the overview, in the
 * browser. A second sign-in of the same customer skips the consent it already gave.
 */
export async function signInToDashboard(
  baseUrl: string,
  watched: WatchedPage,
  customer: Pick<Customer, 'email' | 'password' | 'totpSecret'>,
  options: { totpStepsAhead?: number; keepSignedIn?: boolean } = {},
): Promise<void> {
  const { page } = watched;
  await page.goto(`${baseUrl}/dashboard`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await watched.screenshot('dashboard-login');
  await page.getByLabel('Email or customer ID').fill(customer.email);
  await page.getByLabel('Password').fill(customer.password);
  if (options.keepSignedIn) await page.getByLabel('Keep me signed in on this device').check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (customer.totpSecret) {
    await page.getByRole('heading', { name: 'Verify it is you' }).waitFor();
    await page.getByLabel('Code').fill(await totpCode(customer.totpSecret, options.totpStepsAhead));
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  const consentOrOverview = page.getByRole('heading', { name: /^(Allow .*|Your AuthToken dashboard)$/ });
  await consentOrOverview.waitFor();
  if ((await consentOrOverview.textContent())?.startsWith('Allow ')) {
    await page.getByRole('button', { name: 'Allow' }).click();
  }
  await page.getByRole('heading', { name: 'Your AuthToken dashboard' }).waitFor();
}
