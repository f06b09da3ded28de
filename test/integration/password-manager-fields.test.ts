import { randomBytes } from 'node:crypto';

import { createCustomer, signedInDashboardClient, type Customer } from '../support/dashboard.js';
import { formsOf, formWith, PageClient, type PageResponse } from '../support/page-client.js';
import { serverWithMailbox } from '../support/server.js';

const NEW_PASSWORD = 'a completely new passphrase 2026';

/** The inputs of a form (or page) that name the account for password managers. */
function usernameFields(html: string): string[] {
  return [...html.matchAll(/<input\b[^>]*\bautocomplete="username"[^>]*>/g)].map((match) => match[0]);
}

/**
 * Each form of the page that asks for a password, with the account it names for password managers: the
 * value of its one username field, written the way Chromium's "hidden fields for implicit information"
 * asks (a text field, since type=hidden is skipped; hidden from view and from screen readers).
 */
function accountsNamedByPasswordForms(page: PageResponse): Array<{ action: string; username: string | undefined }> {
  return formsOf(page.html)
    .filter((form) => /type="password"/.test(form.html))
    .map((form) => {
      const fields = usernameFields(form.html);
      if (fields.length !== 1) return { action: form.action, username: undefined };
      const field = String(fields[0]);
      const wellFormed = /type="text"/.test(field) && /name="username"/.test(field) && /\shidden[\s>]/.test(field) && /aria-hidden="true"/.test(field);
      // The field comes before the password, where password managers look for the account.
      const beforePassword = form.html.indexOf(field) < form.html.search(/type="password"/);
      return { action: form.action, username: wellFormed && beforePassword ? /value="([^"]*)"/.exec(field)?.[1] : undefined };
    });
}

/** The value of one attribute of an element's markup, or '-' when it has none. */
const attributeOf = (element: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1] ?? '-';

/**
 * Each form of the page that asks for a password, with what its text fields say they hold, as
 * `name type autocomplete`: the account's identifier `username`, a password being chosen `new-password`, the
 * one the account has `current-password`, a code `one-time-code` (HTML's autofill field names).
 */
function autofillOfPasswordForms(page: PageResponse): Array<{ action: string; fields: string[] }> {
  return formsOf(page.html)
    .filter((form) => /type="password"/.test(form.html))
    .map((form) => ({
      action: form.action,
      fields: [...form.html.matchAll(/<input\b[^>]*>/g)]
        .map((match) => match[0])
        .filter((input) => !['hidden', 'checkbox', 'radio', 'submit'].includes(attributeOf(input, 'type')))
        .map((input) => `${attributeOf(input, 'name')} ${attributeOf(input, 'type')} ${attributeOf(input, 'autocomplete')}`),
    }));
}

/** What the dashboard's re-authentication asks for: the account, its password, and a code when it has a second factor. */
const REAUTH_FIELDS = ['username text username', 'password password current-password', 'code text one-time-code'];

/**
 * Password managers: every form that asks for or chooses a password says what each field holds (see
 * autofillOfPasswordForms). One that asks for a password without a username field says which account the
 * password belongs to, with the email of the account the page is about (the emailed link's, the signed-in
 * one's) and never another. The server takes the account from the link or the session, not from that field.
 */
describe('forms asking for a password say what each field holds, and name the account for password managers', () => {
  const running = serverWithMailbox({ store: 'memory', env: { RATE_LIMIT_SIGNUP: '0' } });

  const passwordWorks = async (email: string, password: string) => (await running.server.application.accounts.verifyPassword(email, password, '127.0.0.1')).ok;

  async function resetPage(browser: PageClient, customer: Customer): Promise<PageResponse> {
    const before = running.mailbox.messages.length;
    const forgot = await browser.follow('/account/forgot');
    await browser.submit(forgot, '/account/forgot', { email: customer.email });
    const link = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec((await running.mailbox.nextMessageTo(customer.email, before)).text)?.[0];
    return browser.follow(String(link));
  }

  test('sign-in and sign-up: the sign-in name is the username, the sign-up email too (still an email field); passwords current and new', async () => {
    const signIn = await new PageClient(running.server.baseUrl).follow('/dashboard');
    expect(autofillOfPasswordForms(signIn)).toEqual([{ action: expect.stringMatching(/^\/interaction\/[^/]+\/login$/), fields: ['username text username', 'password password current-password'] }]);
    // The address given at sign-up is the name the account signs in with: password managers save it as the username.
    const browser = new PageClient(running.server.baseUrl);
    const signUp = await browser.request('/dashboard/signup');
    expect(autofillOfPasswordForms(signUp)).toEqual([{ action: '/dashboard/signup', fields: ['email email username', 'password password new-password'] }]);
    // As it is after a refusal, which shows the form again.
    const refused = await browser.submit(signUp, '/dashboard/signup', { email: 'not-an-address', password: NEW_PASSWORD });
    expect(refused.status).toBe(400);
    expect(autofillOfPasswordForms(refused)).toEqual([{ action: '/dashboard/signup', fields: ['email email username', 'password password new-password'] }]);
  });

  test('password reset: the link\u2019s account, before and after a refusal; the field changes nothing', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const other = await createCustomer(running.server, { totp: false });
    const browser = new PageClient(running.server.baseUrl);
    const page = await resetPage(browser, customer);
    expect(accountsNamedByPasswordForms(page)).toEqual([{ action: '/account/reset', username: customer.email }]);
    expect(autofillOfPasswordForms(page)).toEqual([{ action: '/account/reset', fields: ['username text username', 'password password new-password'] }]);
    const token = String(formWith(page.html, 'Save the new password').fields.token);

    const refused = await browser.submit(page, '/account/reset', { token, password: 'password' });
    expect(refused.status).toBe(400);
    expect(accountsNamedByPasswordForms(refused)).toEqual([{ action: '/account/reset', username: customer.email }]);

    // Another account's address in the field: the link's account gets the password, the other keeps its own.
    const done = await browser.submit(refused, '/account/reset', { token, password: NEW_PASSWORD, username: other.email });
    expect(done.html).toContain('Your password is changed');
    expect(await passwordWorks(customer.email, NEW_PASSWORD)).toBe(true);
    expect(await passwordWorks(other.email, other.password)).toBe(true);

    // A dead link names nobody.
    const dead = await browser.follow(`/account/reset?token=${token}`);
    expect(dead.status).toBe(400);
    expect(usernameFields(dead.html)).toEqual([]);
  });

  test('email confirmation: the address the link was mailed to, before and after a wrong password; the field changes nothing', async () => {
    const email = `signup-${randomBytes(4).toString('hex')}@example.com`;
    const other = await createCustomer(running.server, { totp: false });
    const browser = new PageClient(running.server.baseUrl);
    const before = running.mailbox.messages.length;
    await browser.submit(await browser.request('/dashboard/signup'), '/dashboard/signup', { email, password: NEW_PASSWORD });
    const link = /(http:\/\/\S+\/dashboard\/verify-email\?token=[A-Za-z0-9_-]+)/.exec((await running.mailbox.nextMessageTo(email, before)).text)?.[1];
    const page = await browser.request(String(link));
    expect(accountsNamedByPasswordForms(page)).toEqual([{ action: '/dashboard/verify-email', username: email }]);
    // The password chosen at sign-up, asked again: the account's current one.
    expect(autofillOfPasswordForms(page)).toEqual([{ action: '/dashboard/verify-email', fields: ['username text username', 'password password current-password'] }]);
    const token = String(new URL(String(link)).searchParams.get('token'));

    const wrong = await browser.submit(page, '/dashboard/verify-email', { token, password: 'not the sign-up password' });
    expect(wrong.status).toBe(400);
    expect(accountsNamedByPasswordForms(wrong)).toEqual([{ action: '/dashboard/verify-email', username: email }]);

    const confirmed = await browser.submit(wrong, '/dashboard/verify-email', { token, password: NEW_PASSWORD, username: other.email });
    expect(confirmed.status).toBe(200);
    expect(await passwordWorks(email, NEW_PASSWORD)).toBe(true);
    expect(await passwordWorks(other.email, other.password)).toBe(true);
  });

  test('dashboard: every form asking for the password (security page, new credential, secret rotation) names the signed-in account', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const other = await createCustomer(running.server, { totp: false });
    const client = await signedInDashboardClient(running.server.baseUrl, customer);

    const security = await client.follow('/dashboard/security');
    expect(accountsNamedByPasswordForms(security)).toEqual(
      ['/dashboard/security/totp/remove', '/dashboard/security/totp', '/dashboard/security/recovery-codes', '/dashboard/security/password'].map((action) => ({ action, username: customer.email })),
    );
    expect(autofillOfPasswordForms(security)).toEqual([
      ...['/dashboard/security/totp/remove', '/dashboard/security/totp', '/dashboard/security/recovery-codes'].map((action) => ({ action, fields: REAUTH_FIELDS })),
      { action: '/dashboard/security/password', fields: ['username text username', 'current_password password current-password', 'new_password password new-password'] },
    ]);
    const credentials = await client.follow('/dashboard/credentials');
    expect(accountsNamedByPasswordForms(credentials)).toEqual([{ action: '/dashboard/credentials', username: customer.email }]);
    expect(autofillOfPasswordForms(credentials)).toEqual([{ action: '/dashboard/credentials', fields: ['name text off', ...REAUTH_FIELDS] }]);

    const created = await client.follow('/dashboard/credentials', {
      form: { ...formWith(credentials.html, 'Create credential').fields, name: 'Reports', scope: 'api:read', password: customer.password },
    });
    expect(created.status).toBe(200);
    // A new dashboard session is outside the re-authentication window, so rotating asks for the password.
    const fresh = await signedInDashboardClient(running.server.baseUrl, customer, 1);
    const list = await fresh.follow('/dashboard/credentials');
    const rotate = formsOf(list.html).find((form) => form.action.endsWith('/rotate'));
    const confirm = await fresh.follow(String(rotate?.action), { form: rotate?.fields ?? {} });
    expect(accountsNamedByPasswordForms(confirm)).toEqual([{ action: String(rotate?.action), username: customer.email }]);
    expect(autofillOfPasswordForms(confirm)).toEqual([{ action: String(rotate?.action), fields: REAUTH_FIELDS }]);

    // Changing the password with another account's address in the field changes the signed-in account's.
    const changed = await fresh.follow('/dashboard/security/password', {
      form: { ...formWith((await fresh.follow('/dashboard/security')).html, 'Change password').fields, current_password: customer.password, new_password: NEW_PASSWORD, username: other.email },
    });
    expect(changed.html).toContain('Your password is changed');
    expect(await passwordWorks(customer.email, NEW_PASSWORD)).toBe(true);
    expect(await passwordWorks(other.email, other.password)).toBe(true);
  });
});
