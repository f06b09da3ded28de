import { createCustomer, totpCode } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient } from '../support/page-client.js';
import { serverWithMailbox, STORE_KINDS, testServer } from '../support/server.js';
import { openDemoAppEmailCodePage, openDemoAppLoginPage, submitToDemoApp } from '../support/demo-app.js';

/**
 * A sign-in form sent again after its step already finished: a double click (the browser drops the first
 * answer and shows the second) or Back and submit before the first answer was followed.
 */
describe.each(STORE_KINDS)('sign-in forms sent twice (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  test('the code form sent again after the first code finished the sign-in goes on to consent, not to the password page', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-twice');
    const mfa = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    const codeAction = formAction(mfa.html, /\/mfa$/);
    const first = await client.request(codeAction, { form: { csrf: csrfToken(mfa.html, codeAction), method: 'totp', code: await totpCode(customer.totpSecret ?? '') } });
    expect(first.status).toBe(303);

    const again = await submitToDemoApp(client, mfa, /\/mfa$/, { method: 'totp', code: await totpCode(customer.totpSecret ?? '', 1) });
    expect(again.page.status).toBe(200);
    expect(again.page.html).toMatch(/<h1>Allow Demo app\?<\/h1>/);
    const { callback } = await submitToDemoApp(client, again.page, /\/consent$/, { decision: 'allow' });
    expect(callback?.searchParams.get('code')).toBeTruthy();
    expect(callback?.searchParams.get('state')).toBe('state-twice');
  });
});

/**
 * After a form answered with a page (a wrong password, a code emailed), the address bar shows the form's
 * action; opening that address again (Enter in the address bar, a restored tab, a link copied) is a GET.
 */
describe.each(STORE_KINDS)('a form address opened as a page (%s store)', (storeKind) => {
  const running = serverWithMailbox({ store: storeKind });

  test('the password and consent form addresses lead to the step the sign-in is at', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-address');
    const wrong = await client.submit(login, /\/login$/, { username: customer.email, password: 'not the password' });
    expect(wrong.html).toContain('The email or password is not correct.');
    const again = await client.follow(formAction(login.html, /\/login$/));
    expect(again.status).toBe(200);
    expect(again.html).toContain('<h1>Sign in</h1>');

    const consent = await client.submit(again, /\/login$/, { username: customer.email, password: customer.password });
    const consentAddress = await client.follow(formAction(consent.html, /\/consent$/));
    expect(consentAddress.status).toBe(200);
    expect(consentAddress.html).toMatch(/<h1>Allow Demo app\?<\/h1>/);
  });

  test('the address of "email me a code" leads back to the code page', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    const { emailPage } = await openDemoAppEmailCodePage(client, customer, 'state-address');
    const sent = await client.submit(emailPage, /\/mfa\/email$/);
    expect(sent.html).toContain('We sent you a code.');
    const reopened = await client.follow(formAction(emailPage.html, /\/mfa\/email$/));
    expect(reopened.status).toBe(200);
    expect(reopened.html).toContain('Verify it is you');
  });
});
