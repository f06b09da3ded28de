import { randomBytes } from 'node:crypto';

import { canonicalMailbox } from '../../src/accounts/index.js';
import { RATE_LIMITS_COLLECTION } from '../../src/http/rate-limit.js';
import { windowWithSecondsLeft } from '../support/clock.js';
import { createCustomer } from '../support/dashboard.js';
import { PageClient } from '../support/page-client.js';
import { serverWithMailbox, STORE_KINDS } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

const PASSWORD = 'my own long sign-up passphrase';
/** The sign-up email budget's window (MailboxBudget in src/dashboard/self-service-setup.ts). */
const SIGN_UP_BUDGET_SECONDS = 3600;

/**
 * Forms that mail an address anyone can type in (sign-up, "forgot password") are limited per client IP; many
 * IPs could still flood one mailbox. RATE_LIMIT_EMAILS_PER_ADDRESS caps those emails, one budget per form:
 * sign-up emails per mailbox (case, `+tag`), reset links per account. Past it the answer is unchanged and
 * nothing is sent or made.
 */
describe.each(STORE_KINDS)('per-address email budget (%s store)', (storeKind) => {
  // The per-IP limits are off: every request here comes from 127.0.0.1, and the per-address budget is the subject.
  const running = serverWithMailbox({
    store: storeKind,
    env: { RATE_LIMIT_SIGNUP: '0', RATE_LIMIT_PASSWORD_RESET: '0', RATE_LIMIT_EMAILS_PER_ADDRESS: '2' },
  });

  const mailsTo = (addresses: string[]) => running.mailbox.messages.filter((message) => addresses.some((address) => message.to.includes(address.toLowerCase())));

  /** What the reset budget counted for an account in its current window (0 when nothing yet). */
  async function resetBudgetHits(accountId: string): Promise<number> {
    const windows = await running.server.store.collection<{ _id: string; hits?: number }>(RATE_LIMITS_COLLECTION).find({});
    const prefix = `emails-to:password-reset:${accountId}:`;
    return windows.filter((window) => String(window._id).startsWith(prefix)).reduce((sum, window) => sum + (window.hits ?? 0), 0);
  }

  /** The sign-up budget's counts hold no typed address in clear (they are under a keyed hash of the mailbox). */
  async function rateLimitKeys(): Promise<string[]> {
    return (await running.server.store.collection<{ _id: string }>(RATE_LIMITS_COLLECTION).find({})).map((window) => String(window._id));
  }

  test('canonicalMailbox: case, +tags and Gmail dots name one mailbox; other domains keep their dots', () => {
    expect(canonicalMailbox(' Owner+news@Example.COM ')).toBe('owner@example.com');
    expect(canonicalMailbox('first.last+x@googlemail.com')).toBe('firstlast@gmail.com');
    expect(canonicalMailbox('first.last@example.com')).toBe('first.last@example.com');
  });

  test('sign-ups naming one mailbox (case, +tag): past the budget the same page, but no email and no link', async () => {
    const base = `budget-${randomBytes(4).toString('hex')}`;
    const variants = [`${base}@example.com`, `${base.toUpperCase()}@Example.com`, `${base}+again@example.com`];
    const client = new PageClient(running.server.baseUrl);
    const answers: string[] = [];
    // The budget's hour starts on the clock: three sign-ups straddling its start would find two budgets.
    await windowWithSecondsLeft(SIGN_UP_BUDGET_SECONDS, 15);
    for (const email of variants) {
      const form = await client.request('/dashboard/signup');
      const sent = await client.submit(form, '/dashboard/signup', { email, password: PASSWORD });
      expect(sent.status).toBe(200);
      answers.push(sent.html.replace(/name="csrf" value="[^"]*"/g, '').replace(email, 'ADDRESS'));
    }
    expect(new Set(answers).size).toBe(1);
    // Each registration ends with its audit event, which says whether it emailed: wait for all three.
    const events = async () => {
      const accounts = await Promise.all(variants.map((email) => running.server.application.accounts.findByEmail(email)));
      const ids = [...new Set(accounts.map((account) => account?.customerId).filter((id): id is string => id !== undefined))];
      const lists = await Promise.all(ids.map((accountId) => running.server.application.audit.list({ accountId })));
      return lists.flat().filter((event) => event.action === 'account.signed_up');
    };
    await waitFor(async () => (await events()).length === 3, 'three sign-ups recorded');
    expect((await events()).map((event) => event.details?.emailed).sort()).toEqual([false, true, true]);
    await waitFor(() => mailsTo(variants).length === 2, 'two emails');
    expect(mailsTo(variants)).toHaveLength(2);
    expect((await rateLimitKeys()).filter((key) => key.toLowerCase().includes(base.toLowerCase()))).toEqual([]);
  });

  test('"forgot password" has its own budget, per account, spent only by requests that mail it; past it the live link is kept', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const browser = new PageClient(running.server.baseUrl);
    const forgot = async (email: string) => {
      const page = await browser.follow('/account/forgot');
      expect((await browser.submit(page, '/account/forgot', { email })).status).toBe(200);
    };
    // The sign-up budget of this address is spent (each sign-up records its audit event): the reset budget is another.
    for (let signUp = 0; signUp < 3; signUp += 1) {
      const form = await browser.request('/dashboard/signup');
      await browser.submit(form, '/dashboard/signup', { email: customer.email, password: PASSWORD });
    }
    const signUpsRecorded = async () =>
      (await running.server.application.audit.list({ accountId: customer.customerId, action: 'account.signup_existing_email' })).length;
    await waitFor(async () => (await signUpsRecorded()) === 3, 'the sign-up budget spent');

    // The reset budget's window (the link lifetime) starts on the clock: the owner's three requests straddling
    // its start would find two budgets, and the third would mail a link.
    await windowWithSecondsLeft(running.server.config.passwordResetLinkTtlSeconds, 15);
    await forgot(customer.email);
    await forgot(customer.email.toUpperCase());
    const resetMails = () => mailsTo([customer.email]).filter((message) => message.raw.includes('/account/reset?token'));
    await waitFor(() => resetMails().length === 2, 'two reset emails');
    const raw = resetMails()[1]?.text ?? '';
    const secondLink = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec(raw)?.[0];
    expect(secondLink).toBeDefined();

    // Another account in the same mailbox (owner+work@) has a budget of its own: spending it leaves the
    // owner's untouched. A variant with no account mails nothing and spends nothing.
    const work = await running.server.application.accounts.create({ email: customer.email.replace('@', '+work@'), password: PASSWORD });
    for (let request = 0; request < 3; request += 1) await forgot(work.email);
    await forgot(customer.email.replace('@', '+someone@'));
    await waitFor(async () => (await resetBudgetHits(work.customerId)) === 3, 'the other account\u2019s budget spent');
    // The link is mailed after the answer: wait until the owner's third request found no budget left (it logs
    // that, with the account); only the owner's three requests were counted.
    await forgot(customer.email);
    const refused = (line: string) => line.includes('email budget of the account is spent') && line.includes(customer.customerId);
    await waitFor(() => running.server.logs.lines.some(refused), 'the third request to be refused');
    expect(await resetBudgetHits(customer.customerId)).toBe(3);
    // A third link would have replaced the second (one live reset link per account).
    expect((await browser.request(String(secondLink))).status).toBe(200);
    expect(resetMails()).toHaveLength(2);
  });
});
