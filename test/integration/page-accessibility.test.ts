import { createCustomer, signedInDashboardClient } from '../support/dashboard.js';
import { formWith, type PageClient, type PageResponse } from '../support/page-client.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Each button's aria-label and its visible text (tags stripped, entities of the templates undone). */
function labelledButtons(html: string): Array<{ label: string; text: string }> {
  const decode = (value: string) => value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...html.matchAll(/<button\b[^>]*\baria-label="([^"]*)"[^>]*>([\s\S]*?)<\/button>/g)].map((match) => ({
    label: decode(match[1] ?? ''),
    text: decode((match[2] ?? '').replace(/<[^>]+>/g, '')).trim(),
  }));
}

/** Markup properties of the rendered pages that assistive technology relies on (WCAG 2.2 AA). */
describe('accessible markup of the pages', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: 'memory' });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function submit(client: PageClient, page: PageResponse, buttonText: string, fields: Record<string, string> = {}): Promise<PageResponse> {
    const form = formWith(page.html, buttonText);
    return client.follow(form.action, { form: { ...form.fields, ...fields } });
  }

  test('a button named by aria-label starts with the words it shows, so speech users can say what they see (SC 2.5.3)', async () => {
    const customer = await createCustomer(server, { totp: false });
    const client = await signedInDashboardClient(server.baseUrl, customer);
    const created = await submit(client, await client.follow('/dashboard/credentials'), 'Create credential', {
      name: 'Reports',
      scope: 'api:read',
      password: customer.password,
    });
    expect(created.status).toBe(200);
    // Rotating leaves the old secret working for a while: the list then also offers to revoke it now.
    const rotated = await submit(client, await client.follow('/dashboard/credentials'), '>Rotate secret</button>');
    expect(rotated.html).toContain('New secret');
    const pages = await Promise.all(['/dashboard/credentials', '/dashboard/tokens', '/dashboard/sessions', '/dashboard/apps'].map((path) => client.follow(path)));
    const buttons = pages.flatMap((page) => labelledButtons(page.html));
    expect(buttons.map(({ text }) => text)).toEqual(expect.arrayContaining(['Rotate secret', 'Revoke old secret now', 'Delete', 'Revoke', 'Sign out']));
    const mismatched = buttons.filter(({ label, text }) => !label.toLowerCase().startsWith(text.toLowerCase()));
    expect(mismatched).toEqual([]);
  });
});
