import { createCustomer, totpCode } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient } from '../support/page-client.js';
import { startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';
import { openDemoAppLoginPage, submitToDemoApp } from '../support/demo-app.js';

/**
 * A sign-in form sent again after its step already finished: a double click (the browser drops the first
 * answer and shows the second) or Back and submit before the first answer was followed.
 */
describe.each(STORE_KINDS)('sign-in forms sent twice (%s store)', (storeKind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: storeKind });
  });
  afterAll(async () => {
    await server.close();
  });

  test('the code form sent again after the first code finished the sign-in goes on to consent, not to the password page', async () => {
    const customer = await createCustomer(server, { totp: true });
    const client = new PageClient(server.baseUrl);
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
