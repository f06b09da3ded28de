import { randomBytes } from 'node:crypto';

import { EMAIL_VERIFICATIONS_COLLECTION } from '../../src/dashboard/index.js';
import { RATE_LIMITS_COLLECTION } from '../../src/http/rate-limit.js';
import { createCustomer } from '../support/dashboard.js';
import { PageClient } from '../support/page-client.js';
import { startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';
import { TestMailbox } from '../support/smtp.js';

const PASSWORD = 'my own long sign-up passphrase';

/**
 * Forms that mail an address anyone can type in (sign-up, "forgot password") are limited per client IP; many
 * IPs could still flood one mailbox. RATE_LIMIT_EMAILS_PER_ADDRESS caps those emails per address per hour,
 * one budget for all of them. Past it the answer is unchanged (it must not tell which addresses have
 * accounts) and nothing is sent or made: no new sign-up link, and a live reset link is not replaced.
 */
describe.each(STORE_KINDS)('per-address email budget (%s store)', (storeKind) => {
  const mailbox = new TestMailbox();
  let server: TestServer;
  beforeAll(async () => {
    await mailbox.start();
    // The per-IP limits are off: every request here comes from 127.0.0.1, and the per-address budget is the subject.
    server = await startTestServer({
      store: storeKind,
      env: { SMTP_URL: mailbox.url, RATE_LIMIT_SIGNUP: '0', RATE_LIMIT_PASSWORD_RESET: '0', RATE_LIMIT_EMAILS_PER_ADDRESS: '2' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await mailbox.stop();
  });

  const mailsTo = (email: string) => mailbox.messages.filter((message) => message.to.includes(email));

  /** The hits the per-address budget counted for the account in the current hour (0 when none yet). */
  async function budgetHits(accountId: string): Promise<number> {
    const windows = await server.store.collection<{ _id: string; hits?: number }>(RATE_LIMITS_COLLECTION).find({});
    return windows.filter((window) => String(window._id).startsWith(`emails-to-address:${accountId}:`)).reduce((sum, window) => sum + (window.hits ?? 0), 0);
  }

  async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  test('sign-ups for one address: past the budget the same page, but no email and no new link', async () => {
    const email = `budget-${randomBytes(4).toString('hex')}@example.com`;
    const client = new PageClient(server.baseUrl);
    const answers: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const form = await client.request('/dashboard/signup');
      const sent = await client.submit(form, '/dashboard/signup', { email, password: `${PASSWORD} ${attempt}` });
      expect(sent.status).toBe(200);
      answers.push(sent.html.replace(/name="csrf" value="[^"]*"/g, ''));
    }
    expect(new Set(answers).size).toBe(1);
    const account = await server.application.accounts.findByEmail(email);
    expect(await budgetHits(String(account?.customerId))).toBe(3);
    // Sign-up mails before it answers, so every message that will come has come.
    expect(mailsTo(email)).toHaveLength(2);
    expect(await server.store.collection(EMAIL_VERIFICATIONS_COLLECTION).find({ accountId: String(account?.customerId) })).toHaveLength(2);
  });

  test('"forgot password" shares the budget; past it the live link is kept, not replaced', async () => {
    const customer = await createCustomer(server, { totp: false });
    const browser = new PageClient(server.baseUrl);
    const forgot = async () => {
      const page = await browser.follow('/account/forgot');
      expect((await browser.submit(page, '/account/forgot', { email: customer.email })).status).toBe(200);
    };
    await forgot();
    await forgot();
    await waitFor(async () => mailsTo(customer.email).length === 2, 'two reset emails');
    const raw = (mailsTo(customer.email)[1]?.raw ?? '').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const secondLink = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec(raw)?.[0];
    expect(secondLink).toBeDefined();

    // The reset link is mailed after the answer: wait until the third request has spent (and found no) budget.
    await forgot();
    await waitFor(async () => (await budgetHits(customer.customerId)) === 3, 'the third request to be counted');
    expect(mailsTo(customer.email)).toHaveLength(2);
    // A third link would have replaced the second (one live reset link per account).
    expect((await browser.request(String(secondLink))).status).toBe(200);
  });
});
