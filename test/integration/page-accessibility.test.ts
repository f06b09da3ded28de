import { createCustomer, signedInDashboardClient } from '../support/dashboard.js';
import { formWith, PageClient, textOf, type PageResponse } from '../support/page-client.js';
import { serverWithMailbox } from '../support/server.js';

/** Each button's aria-label and its visible text (tags stripped, entities of the templates undone). */
function labelledButtons(html: string): Array<{ label: string; text: string }> {
  const decode = (value: string) => value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return [...html.matchAll(/<button\b[^>]*\baria-label="([^"]*)"[^>]*>([\s\S]*?)<\/button>/g)].map((match) => ({
    label: decode(match[1] ?? ''),
    text: decode((match[2] ?? '').replace(/<[^>]+>/g, '')).trim(),
  }));
}

/** The texts the field with this id is described by (its aria-describedby, in order). */
function descriptionsOf(html: string, id: string): string[] {
  const field = new RegExp(`<input\\b[^>]*\\bid="${id}"[^>]*>`).exec(html)?.[0];
  if (!field) throw new Error(`no field #${id} on the page`);
  const ids = /aria-describedby="([^"]*)"/.exec(field)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  return ids.map((described) => textOf(html, described) ?? `(no element #${described})`);
}

/** Markup properties of the rendered pages that assistive technology relies on (WCAG 2.2 AA). */
describe('accessible markup of the pages', () => {
  const running = serverWithMailbox({ store: 'memory' });

  async function submit(client: PageClient, page: PageResponse, buttonText: string, fields: Record<string, string> = {}): Promise<PageResponse> {
    const form = formWith(page.html, buttonText);
    return client.follow(form.action, { form: { ...form.fields, ...fields } });
  }

  test('a button named by aria-label starts with the words it shows, so speech users can say what they see (SC 2.5.3)', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedInDashboardClient(running.server.baseUrl, customer);
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

  test('the rules of a new password are tied to its field, before and after a refusal (SC 1.3.1, 3.3.2)', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const RULES = /^At least 12 characters/;

    const browser = new PageClient(running.server.baseUrl);
    const before = running.mailbox.messages.length;
    await submit(browser, await browser.follow('/account/forgot'), 'Send me a link', { email: customer.email });
    const link = /https?:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+/.exec((await running.mailbox.nextMessageTo(customer.email, before)).text)?.[0];
    const reset = await browser.follow(String(link));
    expect(descriptionsOf(reset.html, 'password')).toEqual([expect.stringMatching(RULES)]);
    const refused = await submit(browser, reset, 'Save the new password', { password: 'password' });
    expect(refused.status).toBe(400);
    expect(descriptionsOf(refused.html, 'password')).toEqual([expect.stringMatching(RULES), expect.stringContaining('Choose another password')]);

    const dashboard = await signedInDashboardClient(running.server.baseUrl, customer);
    const security = await dashboard.follow('/dashboard/security');
    expect(descriptionsOf(security.html, 'new-password')).toEqual([expect.stringMatching(RULES)]);
    const wrong = await submit(dashboard, security, 'Change password', { current_password: 'not the password at all', new_password: 'a brand new long passphrase' });
    expect(descriptionsOf(wrong.html, 'new-password')).toEqual([expect.stringMatching(RULES), 'The current password is not correct.']);
  });
});
