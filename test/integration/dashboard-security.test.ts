import { DEMO, postForm, serverWithMailbox, STORE_KINDS } from '../support/server.js';
import { createCustomer, signedInDashboardClient, totpCode, type Customer } from '../support/dashboard.js';
import { PageClient, textOf } from '../support/page-client.js';

const SECURITY = '/dashboard/security';
const NEW_PASSWORD = 'a brand new passphrase for tests';

/**
 * Issue 7, the dashboard's security page over HTTP on both stores: TOTP enrollment (QR + key, confirm,
 * recovery codes once), re-authentication before factor changes, the policy that keeps a required factor,
 * recovery-code regeneration, and the password change that ends every other session and token.
 */
describe.each(STORE_KINDS)('dashboard security page (%s store)', (storeKind) => {
  // A long backoff, so "throttled" is a state the test can observe without racing a clock.
  const running = serverWithMailbox({ store: storeKind, env: { SIGNIN_BACKOFF_BASE_MS: '600000' } });

  const signedIn = (customer: Customer, totpStepsAhead = 0) => signedInDashboardClient(running.server.baseUrl, customer, totpStepsAhead);

  /** Re-authenticates on the security page and starts an authenticator enrollment: its page and its key. */
  async function startTotpEnrollment(client: PageClient, customer: Customer) {
    const page = await client.submit(await client.request(SECURITY), `${SECURITY}/totp`, { password: customer.password });
    return { page, secret: String(textOf(page.html, 'manual-key')).replace(/\s+/g, '') };
  }

  /**
   * An account without a factor signed in to the dashboard twice; the owner's session starts an authenticator
   * enrollment. The other session never re-authenticated: a stolen or forgotten cookie, or a phisher's.
   */
  async function enrollmentBesideAnotherSession() {
    const customer = await createCustomer(running.server, { totp: false });
    const owner = await signedIn(customer);
    const other = await signedIn(customer);
    return { customer, owner, other, ...(await startTotpEnrollment(owner, customer)) };
  }

  const auditActions = async (customer: Customer) =>
    (await running.server.application.audit.list({ accountId: customer.customerId })).map((event) => `${event.action}:${event.outcome}`);

  test('needs a dashboard sign-in and is never cached', async () => {
    const anonymous = new PageClient(running.server.baseUrl);
    const page = await anonymous.request(SECURITY);
    expect(page.status).toBe(303);
    expect(page.location).toBe('/dashboard/signin');
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    const security = await client.request(SECURITY);
    expect(security.status).toBe(200);
    expect(security.headers.get('cache-control')).toBe('no-store');
    expect(textOf(security.html, 'totp-status')).toMatch(/^Off\./);
    // Without its CSRF token a change is refused.
    const forged = await client.request(`${SECURITY}/password`, { form: { current_password: customer.password, new_password: NEW_PASSWORD } });
    expect(forged.status).toBe(403);
    // `done` names one of the page's own notices; anything else shows none (not Object.prototype's members).
    for (const done of ['__proto__', 'constructor', 'toString', 'unknown']) {
      const page = await client.request(`${SECURITY}?done=${done}`);
      expect(page.status).toBe(200);
      expect(page.html).not.toContain('id="security-notice"');
    }
  });

  test('enroll TOTP: re-authentication, QR code and key, a wrong then a right code, recovery codes shown once', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    let page = await client.request(SECURITY);

    const noProof = await client.submit(page, `${SECURITY}/totp`, {});
    expect(noProof.status).toBe(400);
    expect(textOf(noProof.html, 'enroll-error')).toMatch(/enter your password/i);
    const wrongPassword = await client.submit(page, `${SECURITY}/totp`, { password: 'not my password at all' });
    expect(wrongPassword.status).toBe(400);
    expect(textOf(wrongPassword.html, 'enroll-error')).toBe('The password is not correct.');

    page = await client.submit(page, `${SECURITY}/totp`, { password: customer.password });
    expect(page.url).toBe(`${running.server.baseUrl}${SECURITY}/totp`);
    expect(page.html).toContain('<svg');
    const secret = String(textOf(page.html, 'manual-key')).replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    // A phone cannot scan its own screen: the same key is offered as an otpauth:// link its authenticator app opens.
    const link = new URL(String(/<a href="([^"]+)" id="open-authenticator"/.exec(page.html)?.[1]).replace(/&amp;/g, '&'));
    expect(link.protocol).toBe('otpauth:');
    expect(link.host).toBe('totp');
    expect(link.searchParams.get('secret')).toBe(secret);
    // Reloading shows the same pending key (the enrollment survives a reload).
    expect(textOf((await client.request(`${SECURITY}/totp`)).html, 'manual-key')?.replace(/\s+/g, '')).toBe(secret);

    const wrongCode = await client.submit(page, `${SECURITY}/totp/confirm`, { code: '000000' });
    expect(wrongCode.status).toBe(400);
    expect(textOf(wrongCode.html, 'code-error')).toMatch(/does not match/);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual([]);

    const mailBefore = running.mailbox.messages.length;
    page = await client.submit(wrongCode, `${SECURITY}/totp/confirm`, { code: await totpCode(secret) });
    expect(page.url).toMatch(/\/dashboard\/security\/recovery-codes\?enrolled=1$/);
    const notice = await running.mailbox.nextMessageTo(customer.email, mailBefore);
    expect(notice.text).toContain('authenticator app was set up as the second factor of your AuthToken account, on the dashboard');
    expect(notice.text).not.toContain(secret);
    const codes = [...page.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((match) => String(match[1]));
    expect(codes).toHaveLength(10);
    const download = await client.request(`${SECURITY}/recovery-codes.txt`);
    expect(download.headers.get('content-disposition')).toContain('authtoken-recovery-codes.txt');
    for (const code of codes) expect(download.html).toContain(code);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual(expect.arrayContaining(['totp', 'recovery_code']));

    // "I have saved them": the codes are never shown again.
    page = await client.submit(page, `${SECURITY}/recovery-codes/saved`);
    expect(page.url).toBe(`${running.server.baseUrl}${SECURITY}`);
    expect(textOf(page.html, 'totp-status')).toMatch(/^On\./);
    expect((await client.request(`${SECURITY}/recovery-codes`)).status).toBe(303);
    expect((await client.request(`${SECURITY}/recovery-codes.txt`)).status).toBe(404);

    // The factor works where tokens are issued: the password grant now wants it.
    const grant = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: customer.email, password: customer.password, scope: 'api:read' }, DEMO);
    expect(grant.status).toBe(403);
    expect(grant.body.error).toBe('mfa_required');

    expect(await auditActions(customer)).toEqual(expect.arrayContaining(['mfa.enrollment_started:success', 'mfa.enrolled:success']));
    const audit = JSON.stringify(await running.server.application.audit.list({ accountId: customer.customerId }));
    expect(audit).not.toContain(secret);
    for (const code of codes) expect(audit).not.toContain(code);
    expect(running.server.logs.text).not.toContain(secret);
  });

  test('an enrollment started after re-authentication is only for that dashboard session: another session of the account can neither read its key nor confirm it', async () => {
    const started = await enrollmentBesideAnotherSession();
    const { customer, owner, other, secret } = started;
    let { page } = started;

    const peek = await other.request(`${SECURITY}/totp`);
    expect(peek.status).toBe(303);
    expect(peek.html).not.toContain(secret.slice(0, 4));
    // Even knowing the key (or a code), the other session's confirmation is refused and enrolls nothing.
    const security = await other.request(SECURITY);
    const confirmed = await other.request(`${SECURITY}/totp/confirm`, {
      form: { csrf: String(/name="csrf" value="([^"]+)"/.exec(security.html)?.[1]), code: await totpCode(secret) },
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.location).toBe(SECURITY);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual([]);

    // The session that re-authenticated still finishes its enrollment.
    page = await owner.submit(page, `${SECURITY}/totp/confirm`, { code: await totpCode(secret) });
    expect(page.url).toMatch(/\/dashboard\/security\/recovery-codes\?enrolled=1$/);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual(expect.arrayContaining(['totp', 'recovery_code']));
  });

  test('a dashboard session signed in with the password alone ends once the account has a second factor; the session that enrolled it stays', async () => {
    // The other session signed in before the factor existed: say whoever phished the password, which is why the owner adds one.
    const started = await enrollmentBesideAnotherSession();
    const { customer, owner, other, secret } = started;
    let { page } = started;
    const otherPage = await other.request(SECURITY);
    page = await owner.submit(page, `${SECURITY}/totp/confirm`, { code: await totpCode(secret) });
    expect(page.url).toMatch(/\/dashboard\/security\/recovery-codes\?enrolled=1$/);

    // The other session no longer counts: it cannot remove the new factor (or make recovery codes) with the password.
    const removal = await other.request(`${SECURITY}/totp/remove`, {
      form: { csrf: String(/name="csrf" value="([^"]+)"/.exec(otherPage.html)?.[1]), password: customer.password },
    });
    expect(removal.status).toBe(303);
    expect(removal.location).toBe('/dashboard/signin');
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual(expect.arrayContaining(['totp', 'recovery_code']));
    expect((await other.request(SECURITY)).location).toBe('/dashboard/signin');

    // The session that proved the new factor by confirming it goes on.
    page = await owner.submit(page, `${SECURITY}/recovery-codes/saved`);
    expect(page.url).toBe(`${running.server.baseUrl}${SECURITY}`);
    expect(textOf(page.html, 'totp-status')).toMatch(/^On\./);
  });

  test('a password-only dashboard session ends when an operator requires a second factor of the account', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    expect((await client.request(SECURITY)).status).toBe(200);
    await running.server.application.accounts.requireMfaEnrollment(customer.customerId, true);
    const page = await client.request(SECURITY);
    expect(page.status).toBe(303);
    expect(page.location).toBe('/dashboard/signin');
  });

  test('regenerate recovery codes with a recovery code as proof: the old ones stop working', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const oldCodes = await running.server.application.mfa.generateRecoveryCodes(customer.customerId);
    const client = await signedIn(customer);
    const page = await client.request(SECURITY);
    expect(textOf(page.html, 'recovery-status')).toContain('10 unused recovery codes');

    const wrong = await client.submit(page, `${SECURITY}/recovery-codes`, { code: 'aaaaa-aaaaa' });
    expect(wrong.status).toBe(400);
    expect(textOf(wrong.html, 'recovery-error')).toMatch(/not valid/);

    const mailBefore = running.mailbox.messages.length;
    const shown = await client.submit(page, `${SECURITY}/recovery-codes`, { code: String(oldCodes[0]) });
    expect(shown.url).toMatch(/\/dashboard\/security\/recovery-codes$/);
    const newCodes = [...shown.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((match) => String(match[1]));
    // New recovery codes are a new way in: the owner is told, without the codes.
    const notice = await running.mailbox.nextMessageTo(customer.email, mailBefore);
    expect(notice.text).toContain('New recovery codes were made for your AuthToken account');
    for (const code of newCodes) expect(notice.text).not.toContain(code);
    expect(newCodes).toHaveLength(10);
    expect(await running.server.application.mfa.recoveryCodes.consume(customer.customerId, String(oldCodes[1]))).toBe(false);
    expect(await running.server.application.mfa.recoveryCodes.consume(customer.customerId, String(newCodes[0]))).toBe(true);
    expect(await auditActions(customer)).toEqual(
      expect.arrayContaining(['mfa.recovery_codes_regenerated:failure', 'mfa.recovery_codes_regenerated:success']),
    );
  });

  test('remove TOTP: refused while policy requires a second factor; then allowed with a current code, and the owner is told', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    await running.server.application.mfa.generateRecoveryCodes(customer.customerId);
    await running.server.application.accounts.requireMfaEnrollment(customer.customerId, true);
    const client = await signedIn(customer);
    let page = await client.request(SECURITY);
    expect(textOf(page.html, 'totp-status')).toContain('must keep a second factor');

    const refused = await client.submit(page, `${SECURITY}/totp/remove`, { password: customer.password });
    expect(refused.status).toBe(400);
    expect(textOf(refused.html, 'remove-error')).toMatch(/must keep a second factor.*Replace authenticator app/);
    expect(await running.server.application.mfa.totp.isEnrolled(customer.customerId)).toBe(true);

    await running.server.application.accounts.requireMfaEnrollment(customer.customerId, false);
    page = await client.request(SECURITY);
    const wrongCode = await client.submit(page, `${SECURITY}/totp/remove`, { code: '123456' });
    expect(wrongCode.status).toBe(400);
    expect(await running.server.application.mfa.totp.isEnrolled(customer.customerId)).toBe(true);

    // A current authenticator code is proof enough (the next step's: this step's code signed in already).
    const before = running.mailbox.messages.length;
    page = await client.submit(page, `${SECURITY}/totp/remove`, { code: await totpCode(String(customer.totpSecret), 1) });
    expect(page.url).toBe(`${running.server.baseUrl}${SECURITY}?done=totp-removed`);
    expect(textOf(page.html, 'security-notice')).toMatch(/removed/);
    expect(await running.server.application.mfa.methodsFor(customer.customerId)).toEqual([]);
    // No factor left: no recovery codes left either.
    expect(await running.server.application.mfa.recoveryCodes.remaining(customer.customerId)).toBe(0);
    const notice = await running.mailbox.nextMessageTo(customer.email, before);
    expect(notice.raw).toContain('authenticator app (second factor) was removed');
    expect(await auditActions(customer)).toEqual(expect.arrayContaining(['mfa.removed:failure', 'mfa.removed:success']));
  });

  test('change password: policy messages, throttled wrong guesses, then every other session and token ends and this one stays', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const here = await signedIn(customer);
    const elsewhere = await signedIn(customer);
    const grant = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'password', username: customer.email, password: customer.password, scope: 'api:read' },
      DEMO,
    );
    expect(grant.status).toBe(200);
    const accessToken = String(grant.body.access_token);

    let page = await here.request(SECURITY);
    const short = await here.submit(page, `${SECURITY}/password`, { current_password: customer.password, new_password: 'too short' });
    expect(short.status).toBe(400);
    expect(textOf(short.html, 'password-error')).toBe('Choose another password: the password must be at least 12 characters long.');
    const common = await here.submit(page, `${SECURITY}/password`, { current_password: customer.password, new_password: 'password1234' });
    expect(textOf(common.html, 'password-error')).toBe(
      'Choose another password: this password appears in lists of common or breached passwords; choose another.',
    );
    const wrong = await here.submit(page, `${SECURITY}/password`, { current_password: 'not the current one', new_password: NEW_PASSWORD });
    expect(wrong.status).toBe(400);
    expect(textOf(wrong.html, 'password-error')).toBe('The current password is not correct.');

    page = await here.submit(page, `${SECURITY}/password`, { current_password: customer.password, new_password: NEW_PASSWORD });
    expect(page.url).toBe(`${running.server.baseUrl}${SECURITY}?done=password`);
    expect(textOf(page.html, 'security-notice')).toMatch(/password is changed/);

    // This browser is still signed in (on a fresh session); the other dashboard session is gone.
    expect((await here.request('/dashboard')).status).toBe(200);
    const other = await elsewhere.request('/dashboard');
    expect(other.status).toBe(303);
    expect(other.location).toBe('/dashboard/signin');
    // The account's tokens are revoked; the old password no longer works, the new one does.
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: accessToken }, DEMO);
    expect(introspection.body).toEqual({ active: false });
    const passwordGrant = (password: string) =>
      postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: customer.email, password, scope: 'api:read' }, DEMO);
    expect((await passwordGrant(customer.password)).status).toBe(400);
    expect((await passwordGrant(NEW_PASSWORD)).status).toBe(200);
    // The provider session of the other browser ended too: signing in again there needs the password.
    const again = await elsewhere.follow('/dashboard');
    expect(again.html).toContain('name="password"');

    const notice = await running.mailbox.nextMessageTo(customer.email);
    expect(notice.raw).toContain('Your password was changed');
    expect(notice.raw).not.toContain(NEW_PASSWORD);
    expect(await auditActions(customer)).toEqual(expect.arrayContaining(['password.changed:failure', 'password.changed:success']));
    const audit = JSON.stringify(await running.server.application.audit.list({ accountId: customer.customerId }));
    for (const secret of [customer.password, NEW_PASSWORD, 'not the current one']) {
      expect(audit).not.toContain(secret);
      expect(running.server.logs.text).not.toContain(secret);
    }
  });

  test('a password change also ends sign-ins the old password started and that wait for their second factor (an mfa_token, a login page at its code)', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const [recoveryCode] = await running.server.application.mfa.generateRecoveryCodes(customer.customerId);
    // Whoever knew the old password: one sign-in stopped at the MFA page, one mfa_token of the password grant.
    const intruder = new PageClient(running.server.baseUrl);
    let atCode = await intruder.follow('/dashboard');
    atCode = await intruder.submit(atCode, /\/login$/, { username: customer.email, password: customer.password });
    expect(atCode.html).toMatch(/action="\/interaction\/[^"/]+\/mfa"/);
    const first = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: customer.email, password: customer.password, scope: 'api:read' }, DEMO);
    expect(first.body.error).toBe('mfa_required');

    const owner = await signedIn(customer);
    const security = await owner.request(SECURITY);
    expect((await owner.submit(security, `${SECURITY}/password`, { current_password: customer.password, new_password: NEW_PASSWORD })).url).toBe(
      `${running.server.baseUrl}${SECURITY}?done=password`,
    );

    // With the second factor in hand, neither half-finished sign-in completes any more.
    const viaGrant = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'urn:authtoken:params:oauth:grant-type:mfa-otp', mfa_token: String(first.body.mfa_token), recovery_code: String(recoveryCode) },
      DEMO,
    );
    expect(viaGrant.status).toBe(400);
    expect(viaGrant.body.error).toBe('invalid_grant');
    const viaPage = await intruder.submit(atCode, /\/mfa$/, { method: 'totp', code: await totpCode(String(customer.totpSecret), 1) });
    expect(viaPage.html).not.toContain('Your AuthToken dashboard');
    expect(viaPage.html).toContain('name="password"');
    // Nothing was spent on them: the recovery code still works for the owner.
    expect(await running.server.application.mfa.recoveryCodes.remaining(customer.customerId)).toBe(10);
  });

  test('wrong current passwords are throttled like sign-ins: after the free failures even the right one is refused', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    const page = await client.request(SECURITY);
    const freeFailures = running.server.config.signInThrottle.freeFailures;
    for (let attempt = 0; attempt <= freeFailures; attempt += 1) {
      const wrong = await client.submit(page, `${SECURITY}/password`, { current_password: `wrong guess ${attempt}`, new_password: NEW_PASSWORD });
      expect(textOf(wrong.html, 'password-error')).toBe('The current password is not correct.');
    }
    const throttled = await client.submit(page, `${SECURITY}/password`, { current_password: customer.password, new_password: NEW_PASSWORD });
    expect(throttled.status).toBe(400);
    expect(textOf(throttled.html, 'password-error')).toBe('The current password is not correct.');
    expect((await running.server.application.accounts.verifyPassword(customer.email, NEW_PASSWORD, '203.0.113.9')).ok).toBe(false);
  });
});
