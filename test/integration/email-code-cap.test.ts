import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { windowWithSecondsLeft } from '../support/clock.js';
import { createCustomer, type Customer } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient, textOf } from '../support/page-client.js';
import { DEMO, postForm, serverWithMailbox, STORE_KINDS } from '../support/server.js';
import { followToDemoApp, openDemoAppEmailCodePage } from '../support/demo-app.js';

const CAP = 3;
const BURST = 20;
/**
 * Whoever knows a password could have a code mailed to the owner every resend cooldown (about 120 an hour). Each
 * account gets EMAIL_CODE_MAX_PER_HOUR emailed codes per clock hour, on /mfa/challenge and on the login page
 * alike; past it nothing is sent, and the code sent last still works. The cooldown is off here so that the
 * cap is the only limit, and requests at once really race for it.
 */
describe.each(STORE_KINDS)('hourly cap on emailed one-time codes (%s store)', (storeKind) => {
  const running = serverWithMailbox({
    store: storeKind,
    env: {
      EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '0',
      EMAIL_CODE_MAX_PER_HOUR: String(CAP),
      // The per-IP limits are not what is tested.
      RATE_LIMIT_MFA_CHALLENGE: '10000',
      RATE_LIMIT_PASSWORD_GRANT: '10000',
      RATE_LIMIT_SIGN_IN_PAGES: '10000',
      SIGNIN_FREE_FAILURES: '50',
    },
  });

  const codesMailedTo = (customer: Customer) =>
    running.mailbox.messages.filter((message) => message.to.includes(customer.email)).map((message) => /code is (\d{6})/.exec(message.raw)?.[1] ?? '');
  const mfaToken = async (customer: Customer): Promise<string> => {
    const response = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: customer.email, password: customer.password, scope: 'api:read' }, DEMO);
    expect(response.status).toBe(403);
    return String(response.body.mfa_token);
  };
  const challenge = (token: string) => postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: token, channel: 'email' }, DEMO);

  test(`/mfa/challenge: ${CAP} codes, then 429 slow_down with Retry-After and nothing mailed; the last code still works`, async () => {
    // The cap counts per clock hour: every request of the test inside one.
    await windowWithSecondsLeft(3600, 60);
    const customer = await createCustomer(running.server, { totp: true });
    const token = await mfaToken(customer);
    for (let sent = 0; sent < CAP; sent += 1) expect((await challenge(token)).status).toBe(200);
    const refused = await challenge(token);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('slow_down');
    expect(typeof refused.body.error_description).toBe('string');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    const codes = codesMailedTo(customer);
    expect(codes).toHaveLength(CAP);
    const granted = await postForm(`${running.server.baseUrl}/token`, { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: token, otp: String(codes.at(-1)) }, DEMO);
    expect(granted.status).toBe(200);
  });

  test(`${BURST} /mfa/challenge requests at once: exactly ${CAP} codes are mailed, the rest are 429`, async () => {
    await windowWithSecondsLeft(3600, 60);
    const customer = await createCustomer(running.server, { totp: true });
    const token = await mfaToken(customer);
    const answers = await Promise.all(Array.from({ length: BURST }, () => challenge(token)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([...Array.from({ length: CAP }, () => 200), ...Array.from({ length: BURST - CAP }, () => 429)]);
    expect(codesMailedTo(customer)).toHaveLength(CAP);
    expect((await challenge(token)).status).toBe(429);
  });

  test('login page: past the cap, "email me a code" shows a notice, sends nothing, and the code sent last signs in', async () => {
    await windowWithSecondsLeft(3600, 60);
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    const { factorPage, emailPage } = await openDemoAppEmailCodePage(client, customer, 'state-cap');
    expect(factorPage.html).toContain('Verify it is you');
    let page = emailPage;
    for (let sent = 0; sent < CAP; sent += 1) {
      page = await client.submit(page, /\/mfa\/email$/);
      expect(page.status).toBe(200);
      expect(page.html).toContain('We sent you a code');
    }
    const refused = await client.submit(page, /\/mfa\/email$/);
    expect(refused.status).toBe(200);
    expect(refused.html).toContain('Too many codes were emailed to you in the last hour');
    expect(refused.html).toMatch(/ask again in \d+ minutes?\./);
    const codes = codesMailedTo(customer);
    expect(codes).toHaveLength(CAP);
    // The code form is still there, and the code sent last finishes the sign-in.
    const codeAction = formAction(refused.html, /\/mfa$/);
    const signedIn = await client.request(codeAction, { form: { csrf: csrfToken(refused.html, codeAction), method: 'email', code: String(codes.at(-1)) } });
    const { page: after, callback } = await followToDemoApp(client, signedIn);
    expect(textOf(after.html, 'code-error')).toBeUndefined();
    expect(callback !== undefined || /<h1>Allow /.test(after.html)).toBe(true);
  });
});
