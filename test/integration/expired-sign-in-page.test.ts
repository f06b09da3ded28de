import { linksOf, PageClient } from '../support/page-client.js';
import { STORE_KINDS, testServer } from '../support/server.js';
import { openDemoAppLoginPage } from '../support/demo-app.js';

describe.each(STORE_KINDS)('a sign-in that is gone (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  async function expectExpiredPageWithAWayOn(client: PageClient, path: string, form?: Record<string, string>): Promise<void> {
    const page = await client.request(path, form ? { form } : {});
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.html).toContain('<h1>This sign-in has expired</h1>');
    // Not a dead end: a link leads to a page of ours where the person can sign in.
    expect(linksOf(page.html)).toContain('/dashboard');
    const onward = await client.follow('/dashboard');
    expect(onward.status).toBe(200);
    expect(onward.html).toContain('<h1>Sign in</h1>');
  }

  test('an expired interaction, shown or submitted, offers a link onward', async () => {
    const client = new PageClient(running.server.baseUrl);
    const login = await openDemoAppLoginPage(client, 'state-expired');
    const uidPath = new URL(login.url).pathname;
    // What oidc-provider's interaction TTL does in an hour: the record is gone from the store.
    await running.server.store.collection('oidc_Interaction').deleteMany({});
    await expectExpiredPageWithAWayOn(client, uidPath);
    await expectExpiredPageWithAWayOn(client, `${uidPath}/login`, { csrf: 'stale', username: 'someone@example.com', password: 'whatever' });
  });

  test('a made-up interaction, and one opened without its cookie (another browser), offer the same link', async () => {
    await expectExpiredPageWithAWayOn(new PageClient(running.server.baseUrl), '/interaction/made-up-uid');
    const login = await openDemoAppLoginPage(new PageClient(running.server.baseUrl), 'state-other-browser');
    await expectExpiredPageWithAWayOn(new PageClient(running.server.baseUrl), new URL(login.url).pathname);
  });
});
