import { csrfToken, formAction, linksOf, PageClient, type PageResponse } from '../support/page-client.js';
import { startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';
import { DEMO_APP_CALLBACK, openDemoAppLoginPage } from '../support/demo-app.js';

/** An error page that keeps its status, is HTML, and offers exactly one way on: this link. */
function expectErrorPageLinking(page: { status: number; headers: Headers; html: string }, status: number, href: string, label: string): void {
  expect(page.status).toBe(status);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.html).toContain('<h1>Something went wrong</h1>');
  expect(linksOf(page.html)).toEqual([href]);
  expect(page.html).toContain(`>${label}</a>`);
}

describe.each(STORE_KINDS)('error pages with a way on (%s store)', (storeKind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: storeKind });
  });
  afterAll(async () => {
    await server.close();
  });

  /** The sign-in form sent with a password of this many bytes. */
  async function postOversizeLogin(client: PageClient, login: PageResponse, bytes: number): Promise<PageResponse> {
    const action = formAction(login.html, /\/login$/);
    return client.request(action, { form: { csrf: csrfToken(login.html, action), username: 'someone@example.com', password: 'x'.repeat(bytes) } });
  }

  test('a sign-in form over the pages\' 16 KB limit is 413 with a link back to the sign-in step, which still works', async () => {
    const client = new PageClient(server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-oversize');
    const uidPath = new URL(login.url).pathname;
    const refused = await postOversizeLogin(client, login, 20 * 1024);
    expectErrorPageLinking(refused, 413, uidPath, 'Back to sign-in');
    const back = await client.follow(uidPath);
    expect(back.status).toBe(200);
    expect(back.html).toContain('<h1>Sign in</h1>');
  });

  test('when that sign-in is gone, or the body is over the server-wide limit, the 413 page links to the account page', async () => {
    const client = new PageClient(server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-oversize-gone');
    expectErrorPageLinking(await postOversizeLogin(client, login, 60 * 1024), 413, '/dashboard', 'Go to your account');
    await server.store.collection('oidc_Interaction').deleteMany({});
    expectErrorPageLinking(await postOversizeLogin(client, login, 20 * 1024), 413, '/dashboard', 'Go to your account');
  });

  test('oidc-provider\'s own error page (a redirect_uri not registered) keeps its 400 and links to the account page', async () => {
    const parameters = new URLSearchParams({ client_id: 'demo-app', response_type: 'code', scope: 'openid', redirect_uri: `${DEMO_APP_CALLBACK}/elsewhere` });
    const response = await fetch(`${server.baseUrl}/auth?${parameters.toString()}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    const page = { status: response.status, headers: response.headers, html: await response.text() };
    expectErrorPageLinking(page, 400, '/dashboard', 'Go to your account');
    expect(page.html).toContain('invalid_redirect_uri');
    const onward = await new PageClient(server.baseUrl).follow('/dashboard');
    expect(onward.status).toBe(200);
    expect(onward.html).toContain('<h1>Sign in</h1>');
  });
});
