import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { PageClient } from '../support/page-client.js';
import { DEMO, postForm, serverWithMailbox, STORE_KINDS } from '../support/server.js';

const NEW_PASSWORD = 'a completely new passphrase 2026';

/**
 * A password reset is proven by the mailbox alone. If emailed codes then counted as the second factor, whoever
 * holds the mailbox would hold both factors of an account protected by an authenticator app. After a reset,
 * emailed codes stop counting until the account's other factor is used again; an account whose only factor
 * is email keeps it (it must never end up with no second factor at all).
 */
describe.each(STORE_KINDS)('second factor after a password reset by email on the %s store', (storeKind) => {
  const running = serverWithMailbox({ store: storeKind, env: { SIGNIN_FREE_FAILURES: '50' } });

  async function resetPasswordByEmail(customer: Customer): Promise<void> {
    const browser = new PageClient(running.server.baseUrl);
    const before = running.mailbox.messages.length;
    const forgot = await browser.follow('/account/forgot');
    expect((await browser.submit(forgot, '/account/forgot', { email: customer.email })).status).toBe(200);
    const raw = (await running.mailbox.nextMessageTo(customer.email, before)).text;
    const link = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec(raw)?.[0];
    expect(link).toBeDefined();
    const resetPage = await browser.follow(String(link));
    const token = String(/name="token" value="([^"]+)"/.exec(resetPage.html)?.[1]);
    // A password the policy refuses: the form again, as a 400, and the link still works.
    const refused = await browser.submit(resetPage, '/account/reset', { token, password: 'password' });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('Choose another password');
    const done = await browser.submit(refused, '/account/reset', { token, password: NEW_PASSWORD });
    expect(done.html).toContain('Your password is changed');
  }

  const passwordGrant = (customer: Customer, extra: Record<string, string> = {}) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: customer.email, password: NEW_PASSWORD, scope: 'api:read', ...extra }, DEMO);

  const emailChallenge = (mfaToken: string) => postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfaToken, challenge_type: 'oob', channel: 'email' }, DEMO);

  test('an account with an authenticator app: emailed codes stop counting until the app is used again', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    expect((await running.server.application.mfa.methodsFor(customer.customerId)).includes('email')).toBe(true);
    await resetPasswordByEmail(customer);

    const challenged = await passwordGrant(customer);
    expect(challenged.status).toBe(403);
    expect(challenged.body.mfa_methods).toEqual(['totp']);
    const refused = await emailChallenge(String(challenged.body.mfa_token));
    expect(refused.status).toBe(400);
    expect(running.mailbox.messages.filter((message) => message.to.includes(customer.email) && /code is \d{6}/.test(message.raw))).toEqual([]);

    // The authenticator app proves the person has more than the mailbox: email is a fallback again.
    expect((await passwordGrant(customer, { otp: await totpCode(String(customer.totpSecret)) })).status).toBe(200);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual(['totp', 'email']);
  });

  test('an account whose only second factor is email keeps it: a reset never leaves it without one', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    await running.server.application.mfa.setEmailFactor(customer.customerId, true);
    await resetPasswordByEmail(customer);

    const challenged = await passwordGrant(customer);
    expect(challenged.status).toBe(403);
    expect(challenged.body.mfa_methods).toEqual(['email']);
  });
});
