import { createCustomer, type Customer } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient, textOf, type PageResponse } from '../support/page-client.js';
import { serverWithMailbox, STORE_KINDS } from '../support/server.js';
import { followToDemoApp, openDemoAppEmailCodePage } from '../support/demo-app.js';

/**
 * "Email me a code" pressed twice, then the code from the first email typed: that code no longer signs in,
 * and the page says a newer one was sent rather than that the code is wrong.
 */
describe.each(STORE_KINDS)('an emailed code a newer email replaced (%s store)', (storeKind) => {
  const running = serverWithMailbox({ store: storeKind, env: { EMAIL_CODE_RESEND_COOLDOWN_SECONDS: '0' } });

  const codesMailedTo = (customer: Customer) =>
    running.mailbox.messages.filter((message) => message.to.includes(customer.email)).map((message) => /code is (\d{6})/.exec(message.raw)?.[1] ?? '');

  async function submitCode(client: PageClient, page: PageResponse, code: string): Promise<PageResponse> {
    const action = formAction(page.html, /\/mfa$/);
    return client.request(action, { form: { csrf: csrfToken(page.html, action), method: 'email', code } });
  }

  test('the older code is refused saying a newer one was sent; a wrong code still reads as wrong; the newer code signs in', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    let { emailPage: page } = await openDemoAppEmailCodePage(client, customer, 'state-superseded');
    // Sent again on the one chance in a million that two emails hold the same code.
    do page = await client.submit(page, /\/mfa\/email$/);
    while (new Set(codesMailedTo(customer)).size < 2);
    const codes = codesMailedTo(customer);
    const [older, newer] = [String(codes.at(-2)), String(codes.at(-1))];

    const refused = await submitCode(client, page, older);
    expect(refused.status).toBe(200);
    expect(textOf(refused.html, 'code-error')).toBe('A newer code was sent: use the code from the latest email.');

    const wrong = ['000000', '111111', '222222'].find((code) => code !== older && code !== newer) ?? '';
    const mistyped = await submitCode(client, refused, wrong);
    expect(textOf(mistyped.html, 'code-error')).toBe('That code is not valid. Check it and try again.');

    const { page: after, callback } = await followToDemoApp(client, await submitCode(client, mistyped, newer));
    expect(textOf(after.html, 'code-error')).toBeUndefined();
    expect(callback !== undefined || /<h1>Allow /.test(after.html)).toBe(true);
  });
});
