import { createHash, randomBytes } from 'node:crypto';

import { generate, generateSecret } from 'otplib';

import { DASHBOARD_CALLBACK_PATH, DASHBOARD_CLIENT_ID } from '../../src/dashboard/index.js';
import { TOTP_PERIOD_SECONDS } from '../../src/mfa/index.js';
import { windowWithSecondsLeft } from './clock.js';
import { PageClient, type PageResponse } from './page-client.js';
import type { TestServer } from './server.js';

export const CUSTOMER_PASSWORD = 'correct horse battery staple';

/** A customer of the dashboard tests; `totpSecret` when an authenticator app is installed. */
export interface Customer {
  email: string;
  customerId: string;
  password: string;
  totpSecret?: string;
}

export async function createCustomer(server: TestServer, options: { totp: boolean }): Promise<Customer> {
  const email = `customer-${randomBytes(4).toString('hex')}@example.com`;
  const account = await server.application.accounts.create({ email, password: CUSTOMER_PASSWORD });
  const customer: Customer = { email, customerId: account.customerId, password: CUSTOMER_PASSWORD };
  if (options.totp) {
    customer.totpSecret = generateSecret();
    await server.application.mfa.totp.install(account.customerId, customer.totpSecret);
  }
  return customer;
}

/**
 * An authenticator code. Each time step is accepted once per account (replay protection) and one step
 * ahead is tolerated, so a test that needs a second code within 30 s asks for the next step's.
 */
export function totpCode(secret: string, stepsAhead = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * TOTP_PERIOD_SECONDS });
}

/**
 * For a test whose codes must be checked in the very step they were made for (the window's edges): when
 * fewer than `seconds` are left in the current step, waits for the next one. Returns the time to make the
 * codes from, in Unix seconds.
 */
export async function totpStepWithSecondsLeft(seconds: number): Promise<number> {
  await windowWithSecondsLeft(TOTP_PERIOD_SECONDS, seconds);
  return Math.floor(Date.now() / 1000);
}

const DASHBOARD_HEADING = 'Your AuthToken dashboard';

/**
 * /dashboard -> our login page -> (second factor) -> (consent) -> the overview, over plain HTTP. Returns
 * the overview; throws on any page it does not expect, with that page's text.
 */
export async function signInToDashboardOverHttp(
  client: PageClient,
  customer: Pick<Customer, 'email' | 'password' | 'totpSecret'>,
  options: { totpStepsAhead?: number } = {},
): Promise<PageResponse> {
  let page = await client.follow('/dashboard');
  for (let step = 0; step < 6; step += 1) {
    if (page.status === 200 && page.html.includes(DASHBOARD_HEADING)) return page;
    if (/action="\/interaction\/[^"/]+\/login"/.test(page.html)) {
      page = await client.submit(page, /\/login$/, { username: customer.email, password: customer.password });
    } else if (/action="\/interaction\/[^"/]+\/mfa"/.test(page.html) && customer.totpSecret) {
      page = await client.submit(page, /\/mfa$/, { method: 'totp', code: await totpCode(customer.totpSecret, options.totpStepsAhead) });
    } else if (/action="\/interaction\/[^"/]+\/consent"/.test(page.html)) {
      page = await client.submit(page, /\/consent$/, { decision: 'allow' });
    } else {
      break;
    }
  }
  throw new Error(`the dashboard sign-in stopped at ${page.url} (${page.status}):\n${page.html.slice(0, 1500)}`);
}

/** A new page client, signed in to the dashboard of `baseUrl` as the customer (a second call: a second session). */
export async function signedInDashboardClient(
  baseUrl: string,
  customer: Pick<Customer, 'email' | 'password' | 'totpSecret'>,
  totpStepsAhead = 0,
): Promise<PageClient> {
  const client = new PageClient(baseUrl);
  await signInToDashboardOverHttp(client, customer, { totpStepsAhead });
  return client;
}

/**
 * The authorization request of a silent sign-in (prompt=none) of the dashboard client: it answers with a
 * code when the browser's sign-in session is alive, with login_required once it has been ended.
 */
export function silentSignInPath(baseUrl: string): string {
  const parameters = new URLSearchParams({
    client_id: DASHBOARD_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: `${baseUrl}${DASHBOARD_CALLBACK_PATH}`,
    prompt: 'none',
    state: 'silent',
    code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    code_challenge_method: 'S256',
  });
  return `/auth?${parameters.toString()}`;
}
