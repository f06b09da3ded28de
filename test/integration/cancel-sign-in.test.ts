import { createCustomer, totpCode } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient } from '../support/page-client.js';
import { STORE_KINDS, testServer } from '../support/server.js';
import { followToDemoApp, openDemoAppLoginPage } from '../support/demo-app.js';

const CANCEL_ACTION = /^\/interaction\/[^/]+\/abort$/;

describe.each(STORE_KINDS)('cancelling a sign-in (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  test('Cancel on the login page is a POST with the CSRF token: the app gets access_denied with its state', async () => {
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-123');
    const cancel = formAction(login.html, CANCEL_ACTION);
    const answer = await client.request(cancel, { form: { csrf: csrfToken(login.html, cancel) } });
    const { callback } = await followToDemoApp(client, answer);
    expect(callback?.searchParams.get('error')).toBe('access_denied');
    expect(callback?.searchParams.get('state')).toBe('state-123');
  });

  test('Cancel on the second-factor page ends the pending sign-in the same way', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-123');
    const mfa = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(mfa.html).toContain('Verify it is you');
    const cancel = formAction(mfa.html, CANCEL_ACTION);
    const { callback } = await followToDemoApp(client, await client.request(cancel, { form: { csrf: csrfToken(mfa.html, cancel) } }));
    expect(callback?.searchParams.get('error')).toBe('access_denied');
    // The pending sign-in ended with it: its code form now answers as an expired sign-in, not the consent page.
    const code = await client.submit(mfa, /\/mfa$/, { method: 'totp', code: await totpCode(customer.totpSecret ?? '') });
    expect(code.html).not.toMatch(/<h1>Allow /);
  });

  test("Cancel on the dashboard's own sign-in lands on a page of ours, not an error", async () => {
    const client = new PageClient(running.server.baseUrl);
    const login = await client.follow('/dashboard');
    const cancel = formAction(login.html, CANCEL_ACTION);
    const landed = await client.follow(cancel, { form: { csrf: csrfToken(login.html, cancel) } });
    expect(landed.url).toMatch(/\/dashboard\/callback\?error=access_denied/);
    expect(landed.status).toBe(400);
    expect(landed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(landed.html).toContain('<h1>Sign-in was not completed</h1>');
    expect(landed.html).toContain('signin_cancelled');
  });

  test('a cancel without the form token, or a GET as a link or image from another site would send, ends nothing', async () => {
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-123');
    const cancel = formAction(login.html, CANCEL_ACTION);

    const asLink = await client.request(cancel);
    expect(asLink.status).toBe(405);
    expect(asLink.headers.get('allow')).toBe('POST');
    expect(asLink.headers.get('content-type')).toMatch(/^text\/html/);
    expect(asLink.location).toBeUndefined();

    const forged = await client.request(cancel, { form: { csrf: 'not-the-token' } });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('invalid_csrf_token');
    expect(forged.location).toBeUndefined();

    // The sign-in is still there to finish: the password goes on to consent.
    const customer = await createCustomer(running.server, { totp: false });
    const next = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(next.status).toBe(200);
    expect(next.html).toMatch(/<h1>Allow /);
  });
});
