import { createCustomer, totpCode } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient, type PageResponse } from '../support/page-client.js';
import { startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';

/** The seeded public client's redirect URI (config default): the walk stops there, nothing listens on it. */
const APP_CALLBACK = 'http://localhost:8080/callback';
const CANCEL_ACTION = /^\/interaction\/[^/]+\/abort$/;

/** Follows redirects while they stay on the server; answers the last page, or the app callback it was sent to. */
async function walk(client: PageClient, first: PageResponse): Promise<{ page: PageResponse; callback?: URL }> {
  let page = first;
  for (let hop = 0; hop < 20 && page.location && page.status >= 300 && page.status < 400; hop += 1) {
    const next = new URL(page.location, page.url);
    if (next.href.startsWith(APP_CALLBACK)) return { page, callback: next };
    page = await client.request(next.href);
  }
  return { page };
}

describe.each(STORE_KINDS)('cancelling a sign-in (%s store)', (storeKind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: storeKind });
  });
  afterAll(async () => {
    await server.close();
  });

  async function openLoginPage(client: PageClient): Promise<PageResponse> {
    const query = new URLSearchParams({
      client_id: 'demo-app',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: APP_CALLBACK,
      state: 'state-123',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const { page } = await walk(client, await client.request(`/auth?${query.toString()}`));
    expect(page.status).toBe(200);
    return page;
  }

  test('Cancel on the login page is a POST with the CSRF token: the app gets access_denied with its state', async () => {
    const client = new PageClient(server.baseUrl);
    const login = await openLoginPage(client);
    const cancel = formAction(login.html, CANCEL_ACTION);
    const answer = await client.request(cancel, { form: { csrf: csrfToken(login.html, cancel) } });
    const { callback } = await walk(client, answer);
    expect(callback?.searchParams.get('error')).toBe('access_denied');
    expect(callback?.searchParams.get('state')).toBe('state-123');
  });

  test('Cancel on the second-factor page ends the pending sign-in the same way', async () => {
    const customer = await createCustomer(server, { totp: true });
    const client = new PageClient(server.baseUrl);
    const login = await openLoginPage(client);
    const mfa = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(mfa.html).toContain('Verify it is you');
    const cancel = formAction(mfa.html, CANCEL_ACTION);
    const { callback } = await walk(client, await client.request(cancel, { form: { csrf: csrfToken(mfa.html, cancel) } }));
    expect(callback?.searchParams.get('error')).toBe('access_denied');
    // The pending sign-in ended with it: its code form now answers as an expired sign-in, not the consent page.
    const code = await client.submit(mfa, /\/mfa$/, { method: 'totp', code: await totpCode(customer.totpSecret ?? '') });
    expect(code.html).not.toMatch(/<h1>Allow /);
  });

  test("Cancel on the dashboard's own sign-in lands on a page of ours, not an error", async () => {
    const client = new PageClient(server.baseUrl);
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
    const client = new PageClient(server.baseUrl);
    const login = await openLoginPage(client);
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
    const customer = await createCustomer(server, { totp: false });
    const next = await client.submit(login, /\/login$/, { username: customer.email, password: customer.password });
    expect(next.status).toBe(200);
    expect(next.html).toMatch(/<h1>Allow /);
  });
});
