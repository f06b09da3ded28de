import { randomBytes } from 'node:crypto';

import { EMAIL_VERIFICATIONS_COLLECTION } from '../../src/dashboard/index.js';
import { MAX_WRONG_SIGN_UP_PASSWORDS } from '../../src/dashboard/sign-up.js';
import { createCustomer, signInToDashboardOverHttp } from '../support/dashboard.js';
import { PageClient, textOf, type PageResponse } from '../support/page-client.js';
import { DEMO, postForm, serverWithMailbox, startServerWithMailbox, STORE_KINDS } from '../support/server.js';
import { windowWithSecondsLeft } from '../support/clock.js';
import type { TestMailbox } from '../support/smtp.js';

const PASSWORD = 'my own long sign-up passphrase';
const freshEmail = () => `signup-${randomBytes(4).toString('hex')}@example.com`;

/** The verification link in the latest message to this address. */
async function verificationLink(mailbox: TestMailbox, email: string, after: number): Promise<string> {
  const message = await mailbox.nextMessageTo(email, after);
  const link = /(http:\/\/\S+\/dashboard\/verify-email\?token=[A-Za-z0-9_-]+)/.exec(message.text)?.[1];
  if (!link) throw new Error(`no verification link in:\n${message.raw}`);
  return link;
}

async function signUp(client: PageClient, email: string, password: string): Promise<PageResponse> {
  const form = await client.request('/dashboard/signup');
  return client.submit(form, '/dashboard/signup', { email, password });
}

/** Signs a fresh address up and opens its emailed link: the confirmation page, and the link's token. */
async function atConfirmationPage(client: PageClient, mailbox: TestMailbox): Promise<{ email: string; link: string; token: string; confirm: PageResponse }> {
  const email = freshEmail();
  const before = mailbox.messages.length;
  await signUp(client, email, PASSWORD);
  const link = await verificationLink(mailbox, email, before);
  return { email, link, token: String(new URL(link).searchParams.get('token')), confirm: await client.request(link) };
}

/**
 * Issue 7, sign-up with email verification over HTTP on both stores, with a real SMTP server: an unverified
 * account gets no token anywhere (login pages, password grant, Generate Token API) until its emailed
 * single-use link is confirmed; an existing address is answered identically and its owner is emailed.
 */
describe.each(STORE_KINDS)('dashboard sign-up (%s store)', (storeKind) => {
  // Every sign-up here comes from 127.0.0.1: the per-IP limit has its own test below.
  const running = serverWithMailbox({ store: storeKind, env: { RATE_LIMIT_SIGNUP: '0' } });

  const passwordGrant = (username: string, password: string) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username, password, scope: 'api:read' }, DEMO);
  const generateToken = (customerId: string, email: string, password: string) =>
    fetch(`${running.server.baseUrl}/auth/v1/authentication/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId, email, country: 'DE', scope: 'api:read', key: Buffer.from(password).toString('base64') }),
    });

  test('the dashboard login page links to the sign-up page; other apps\u2019 login pages do not', async () => {
    const client = new PageClient(running.server.baseUrl);
    const login = await client.follow('/dashboard');
    expect(login.html).toContain('href="/dashboard/signup"');
    const demoApp = await client.follow(
      `/auth?${new URLSearchParams({ client_id: DEMO.id, response_type: 'code', scope: 'openid', redirect_uri: running.server.config.demo.redirectUri, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
    );
    expect(demoApp.html).toContain('name="password"');
    expect(demoApp.html).not.toContain('/dashboard/signup');
  });

  test('sign up -> unverified (no token anywhere) -> confirm the emailed link -> active; the link works once', async () => {
    const email = freshEmail();
    const client = new PageClient(running.server.baseUrl);
    const before = running.mailbox.messages.length;
    const sent = await signUp(client, email, PASSWORD);
    expect(sent.status).toBe(200);
    expect(sent.headers.get('cache-control')).toBe('no-store');
    expect(textOf(sent.html, 'sign-up-sent')).toContain(email);
    const link = await verificationLink(running.mailbox, email, before);
    const account = await running.server.application.accounts.findByEmail(email);
    expect(account?.status).toBe('unverified');
    const customerId = String(account?.customerId);

    // Not yet verified: the right password gets nothing, through every door.
    const grant = await passwordGrant(email, PASSWORD);
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('invalid_grant');
    const generated = await generateToken(customerId, email, PASSWORD);
    expect(generated.status).toBe(401);
    expect(await generated.json()).toMatchObject({ status: 401 });
    const loginPage = await client.follow('/dashboard');
    const refused = await client.submit(loginPage, /\/login$/, { username: email, password: PASSWORD });
    expect(textOf(refused.html, 'login-error')).toBe('The email or password is not correct.');

    // The link shows a confirmation (a GET never spends it); the POST with the sign-up's password activates.
    const confirm = await client.request(link);
    expect(confirm.status).toBe(200);
    expect(await running.server.application.accounts.findByEmail(email)).toMatchObject({ status: 'unverified' });
    const withoutPassword = await client.submit(confirm, '/dashboard/verify-email', { token: String(new URL(link).searchParams.get('token')) });
    expect(withoutPassword.status).toBe(400);
    expect(textOf(withoutPassword.html, 'password-error')).toBe('Enter the password you chose when you signed up.');
    expect(await running.server.application.accounts.findByEmail(email)).toMatchObject({ status: 'unverified' });
    const verified = await client.submit(confirm, '/dashboard/verify-email', { token: String(new URL(link).searchParams.get('token')), password: PASSWORD });
    expect(verified.status).toBe(200);
    expect(verified.html).toContain('Your account is active');
    expect(await running.server.application.accounts.findByEmail(email)).toMatchObject({ status: 'active' });

    const again = await client.request(link);
    expect(again.status).toBe(400);
    expect(again.html).toContain('invalid_verification_link');

    expect((await passwordGrant(email, PASSWORD)).status).toBe(200);
    expect((await generateToken(customerId, email, PASSWORD)).status).toBe(200);
    const overview = await signInToDashboardOverHttp(new PageClient(running.server.baseUrl), { email, password: PASSWORD });
    expect(textOf(overview.html, 'customer-id')).toBe(customerId);

    const actions = (await running.server.application.audit.list({ accountId: customerId })).map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(['account.signed_up', 'account.email_verified']));
    // Only a keyed hash of the link's token is stored; neither token nor password reaches the logs.
    const token = String(new URL(link).searchParams.get('token'));
    expect(running.server.logs.text).not.toContain(token);
    expect(running.server.logs.text).not.toContain(PASSWORD);
  });

  test('an address that has an account: the same answer, nothing changes, its owner is emailed', async () => {
    const owner = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    const newcomer = freshEmail();
    const forNew = await signUp(client, newcomer, PASSWORD);
    const before = running.mailbox.messages.length;
    const forExisting = await signUp(client, owner.email, PASSWORD);
    expect(forExisting.status).toBe(forNew.status);
    expect(forExisting.html.replace(owner.email, 'EMAIL')).toBe(forNew.html.replace(newcomer, 'EMAIL'));

    const notice = await running.mailbox.nextMessageTo(owner.email, before);
    expect(notice.raw).toContain('already has one');
    expect(notice.raw).not.toContain('verify-email');
    expect((await passwordGrant(owner.email, owner.password)).status).toBe(200);
    expect((await passwordGrant(owner.email, PASSWORD)).status).toBe(400);
    const events = await running.server.application.audit.list({ accountId: owner.customerId, action: 'account.signup_existing_email' });
    expect(events).toHaveLength(1);
  });

  test('signing up again before verifying: each link sets its own sign-up\u2019s password; expired links are dead', async () => {
    const email = freshEmail();
    const client = new PageClient(running.server.baseUrl);
    let before = running.mailbox.messages.length;
    await signUp(client, email, 'first attempt passphrase');
    const firstLink = await verificationLink(running.mailbox, email, before);
    before = running.mailbox.messages.length;
    await signUp(client, email, PASSWORD);
    const secondLink = await verificationLink(running.mailbox, email, before);
    expect((await client.request(firstLink)).status).toBe(200);

    // Expire the live links in the store: they are dead before any sweep removes them.
    const verifications = running.server.store.collection(EMAIL_VERIFICATIONS_COLLECTION);
    const account = await running.server.application.accounts.findByEmail(email);
    for (const pending of await verifications.find({ accountId: String(account?.customerId) })) {
      await verifications.updateOne({ _id: String(pending._id) }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    }
    expect((await client.request(firstLink)).status).toBe(400);
    expect((await client.request(secondLink)).status).toBe(400);

    before = running.mailbox.messages.length;
    await signUp(client, email, PASSWORD);
    const thirdLink = await verificationLink(running.mailbox, email, before);
    const confirm = await client.request(thirdLink);
    await client.submit(confirm, '/dashboard/verify-email', { token: String(new URL(thirdLink).searchParams.get('token')), password: PASSWORD });
    expect((await passwordGrant(email, PASSWORD)).status).toBe(200);
    expect((await passwordGrant(email, 'first attempt passphrase')).status).toBe(400);
  });

  test('pre-hijacking: a second sign-up for a pending address cannot set the password its owner activates', async () => {
    const email = freshEmail();
    const victimPassword = 'the victim\u2019s own passphrase';
    const attackerPassword = 'the attacker\u2019s chosen passphrase';
    const victim = new PageClient(running.server.baseUrl);
    const attacker = new PageClient(running.server.baseUrl);
    let before = running.mailbox.messages.length;
    await signUp(victim, email, victimPassword);
    const victimLink = await verificationLink(running.mailbox, email, before);
    before = running.mailbox.messages.length;
    expect((await signUp(attacker, email, attackerPassword)).status).toBe(200);
    const attackerMail = await running.mailbox.nextMessageTo(email, before);
    const attackerLink = await verificationLink(running.mailbox, email, before);

    // The victim, holding the mailbox, opens the fresher mail (the attacker's) and confirms it with the
    // password they chose: that is not the password of that sign-up, so nothing is activated.
    const attackerConfirm = await victim.request(attackerLink);
    expect(attackerConfirm.status).toBe(200);
    const refused = await victim.submit(attackerConfirm, '/dashboard/verify-email', {
      token: String(new URL(attackerLink).searchParams.get('token')),
      password: victimPassword,
    });
    expect(refused.status).toBe(400);
    expect(refused.html).not.toContain('Your account is active');
    expect(textOf(refused.html, 'password-error')).toContain('not the password');
    expect(await running.server.application.accounts.findByEmail(email)).toMatchObject({ status: 'unverified' });
    expect((await passwordGrant(email, attackerPassword)).status).toBe(400);
    // The later sign-up did not kill the earlier link either.
    expect((await victim.request(victimLink)).status).toBe(200);

    // The victim's own link, with the victim's password, activates the account with that password only.
    const victimConfirm = await victim.request(victimLink);
    const verified = await victim.submit(victimConfirm, '/dashboard/verify-email', {
      token: String(new URL(victimLink).searchParams.get('token')),
      password: victimPassword,
    });
    expect(verified.html).toContain('Your account is active');
    expect((await passwordGrant(email, victimPassword)).status).toBe(200);
    expect((await passwordGrant(email, attackerPassword)).status).toBe(400);
    // Activation ends every other pending sign-up of the address.
    expect((await victim.request(attackerLink)).status).toBe(400);
    // The second mail says a sign-up was asked for again, so its reader does not take it for "the" link.
    expect(attackerMail.text).toContain('again');
  });

  test('a link takes a few wrong passwords, then it is closed for good, even for its own password', async () => {
    const client = new PageClient(running.server.baseUrl);
    const { email, link, token, confirm } = await atConfirmationPage(client, running.mailbox);
    for (let attempt = 1; attempt < MAX_WRONG_SIGN_UP_PASSWORDS; attempt += 1) {
      const wrong = await client.submit(confirm, '/dashboard/verify-email', { token, password: `wrong guess number ${attempt}` });
      expect(wrong.status).toBe(400);
      expect(textOf(wrong.html, 'password-error')).toContain('not the password');
    }
    const last = await client.submit(confirm, '/dashboard/verify-email', { token, password: 'the last wrong guess' });
    expect(last.status).toBe(400);
    expect(last.html).toContain('Too many wrong passwords');
    // The link is gone: its page, and its own password, no longer work.
    expect((await client.request(link)).status).toBe(400);
    const late = await client.submit(confirm, '/dashboard/verify-email', { token, password: PASSWORD });
    expect(late.status).toBe(400);
    expect(late.html).not.toContain('Your account is active');
    const account = await running.server.application.accounts.findByEmail(email);
    expect(account).toMatchObject({ status: 'unverified' });
    expect(await running.server.store.collection(EMAIL_VERIFICATIONS_COLLECTION).find({ accountId: String(account?.customerId) })).toEqual([]);
  });

  test('bad input is answered beside the field, with the password policy\u2019s words', async () => {
    const client = new PageClient(running.server.baseUrl);
    const badEmail = await signUp(client, 'not-an-address', PASSWORD);
    expect(badEmail.status).toBe(400);
    expect(textOf(badEmail.html, 'email-error')).toBe('Enter a valid email address.');
    const short = await signUp(client, freshEmail(), 'short');
    expect(short.status).toBe(400);
    expect(textOf(short.html, 'password-error')).toBe('Choose another password: the password must be at least 12 characters long.');
    const common = await signUp(client, freshEmail(), 'password1234');
    expect(textOf(common.html, 'password-error')).toBe('Choose another password: this password appears in lists of common or breached passwords; choose another.');
    const forged = await client.request('/dashboard/signup', { form: { email: freshEmail(), password: PASSWORD } });
    expect(forged.status).toBe(403);
  });
});

describe('dashboard sign-up limits and switch', () => {
  // Sign-ups send mail: each server here has a real SMTP server to take it (instead of the development transport's terminal output).
  test('per-IP rate limit: 429 with Retry-After once the window\u2019s budget is spent', async () => {
    // A one-hour window, entered with time to spare: the counted requests all fall in it.
    const { server, close } = await startServerWithMailbox({ store: 'memory', env: { RATE_LIMIT_SIGNUP: '2', RATE_LIMIT_WINDOW_SECONDS: '3600' } });
    await windowWithSecondsLeft(3600, 15);
    try {
      const client = new PageClient(server.baseUrl);
      // Input refused by the password policy does not spend the budget.
      expect((await signUp(client, freshEmail(), 'short')).status).toBe(400);
      expect((await signUp(client, freshEmail(), PASSWORD)).status).toBe(200);
      expect((await signUp(client, freshEmail(), PASSWORD)).status).toBe(200);
      const limited = await signUp(client, freshEmail(), PASSWORD);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.html).toContain('Too many sign-ups');
    } finally {
      await close();
    }
  });

  test('confirmations have a per-IP budget (the sign-in pages\u2019 size): 429 with Retry-After once spent', async () => {
    const { server, mailbox, close } = await startServerWithMailbox({
      store: 'memory',
      env: { RATE_LIMIT_SIGN_IN_PAGES: '2', RATE_LIMIT_WINDOW_SECONDS: '3600' },
    });
    await windowWithSecondsLeft(3600, 15);
    try {
      const client = new PageClient(server.baseUrl);
      const { email, token, confirm } = await atConfirmationPage(client, mailbox);
      expect((await client.submit(confirm, '/dashboard/verify-email', { token, password: 'one wrong guess' })).status).toBe(400);
      expect((await client.submit(confirm, '/dashboard/verify-email', { token, password: 'two wrong guesses' })).status).toBe(400);
      const limited = await client.submit(confirm, '/dashboard/verify-email', { token, password: PASSWORD });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(textOf(limited.html, 'password-error')).toContain('Too many attempts');
      expect(await server.application.accounts.findByEmail(email)).toMatchObject({ status: 'unverified' });
    } finally {
      await close();
    }
  });

  test('a try is counted before its password is checked: the right password sent while wrong ones are being checked is refused', async () => {
    // A slow hash (time cost 20), so the wrong tries are still being checked when the right one arrives.
    const { server, mailbox, close } = await startServerWithMailbox({ store: 'memory', env: { RATE_LIMIT_SIGNUP: '0', ARGON2_TIME_COST: '20' } });
    try {
      const client = new PageClient(server.baseUrl);
      const { email, token, confirm } = await atConfirmationPage(client, mailbox);
      const account = await server.application.accounts.findByEmail(email);
      const links = server.store.collection<{ _id: string; tries?: number }>(EMAIL_VERIFICATIONS_COLLECTION);
      const wrong = Array.from({ length: MAX_WRONG_SIGN_UP_PASSWORDS }, (_, index) =>
        client.submit(confirm, '/dashboard/verify-email', { token, password: `concurrent guess ${index}` }),
      );
      // Every try of the link is taken (reserved), while their passwords are still being checked.
      for (let attempt = 0; ; attempt += 1) {
        const [link] = await links.find({ accountId: String(account?.customerId) });
        if (link?.tries === MAX_WRONG_SIGN_UP_PASSWORDS) break;
        if (attempt > 200) throw new Error(`the tries were not reserved: ${JSON.stringify(link)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Refused without a check: as "too many", or as a dead link should the last wrong try have closed it already.
      const right = await client.submit(confirm, '/dashboard/verify-email', { token, password: PASSWORD });
      expect(right.status).toBe(400);
      expect(right.html).toContain('This link does not work any more');
      const answers = await Promise.all(wrong);
      expect(answers.filter((answer) => answer.html.includes('not the password'))).toHaveLength(MAX_WRONG_SIGN_UP_PASSWORDS - 1);
      expect(answers.filter((answer) => answer.html.includes('Too many wrong passwords'))).toHaveLength(1);
      expect(await server.application.accounts.findByEmail(email)).toMatchObject({ status: 'unverified' });
    } finally {
      await close();
    }
  });

  test('DASHBOARD_SIGNUP=false: the pages are 404 pages and the login page has no link', async () => {
    const { server, close } = await startServerWithMailbox({ store: 'memory', env: { DASHBOARD_SIGNUP: 'false' } });
    try {
      const client = new PageClient(server.baseUrl);
      const page = await client.request('/dashboard/signup');
      expect(page.status).toBe(404);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect((await client.request('/dashboard/signup', { form: { email: freshEmail(), password: PASSWORD } })).status).toBe(404);
      expect((await client.request('/dashboard/verify-email?token=abc')).status).toBe(404);
      const login = await client.follow('/dashboard');
      expect(login.html).toContain('name="password"');
      expect(login.html).not.toContain('/dashboard/signup');
    } finally {
      await close();
    }
  });
});
