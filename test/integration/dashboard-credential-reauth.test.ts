import { createCustomer, signedInDashboardClient, signInToDashboardOverHttp, type Customer } from '../support/dashboard.js';
import { formWith, PageClient, textOf, type PageForm, type PageResponse } from '../support/page-client.js';
import { postForm, serverWithMailbox, STORE_KINDS, testServer } from '../support/server.js';

const CREDENTIALS = '/dashboard/credentials';
const SECURITY = '/dashboard/security';

interface ShownCredential {
  id: string;
  secret: string;
}

async function submitForm(client: PageClient, form: PageForm, extra: Record<string, string> = {}): Promise<PageResponse> {
  return client.follow(form.action, { form: { ...form.fields, ...extra } });
}

/** Submits the list page's create form; extra fields are the proof (password or code), if any. */
async function submitCreate(client: PageClient, name: string, proof: Record<string, string> = {}): Promise<PageResponse> {
  const page = await client.follow(CREDENTIALS);
  return submitForm(client, formWith(page.html, 'Create credential'), { name, scope: 'api:read', ...proof });
}

function shownCredential(page: PageResponse): ShownCredential {
  expect(page.status).toBe(200);
  return { id: String(textOf(page.html, 'client-id')), secret: String(textOf(page.html, 'client-secret')) };
}

/**
 * Re-authenticates on the security page (for something else than credentials: starting an authenticator app
 * enrollment, which takes the password) and answers where that lands.
 */
async function reauthenticateOnSecurityPage(client: PageClient, password: string): Promise<PageResponse> {
  return client.submit(await client.follow(SECURITY), `${SECURITY}/totp`, { password });
}

const sleepUntil = (instant: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now())));

/** Clicks the list's "Rotate secret" button of the named credential (it carries no proof). */
async function clickRotate(client: PageClient, name: string): Promise<PageResponse> {
  const page = await client.follow(CREDENTIALS);
  return submitForm(client, formWith(page.html, `aria-label="Rotate secret of ${name}"`));
}

/**
 * Sudo mode for API credentials, over HTTP on both stores: creating a credential and rotating its secret need
 * a re-authentication (password, authenticator or recovery code) that this dashboard session alone keeps for
 * DASHBOARD_SUDO_SECONDS; each success emails the owner a notice without the secret. Deleting needs none.
 */
describe.each(STORE_KINDS)('API credentials need re-authentication (%s store)', (storeKind) => {
  const running = serverWithMailbox({ store: storeKind });

  const signedIn = (customer: Customer, totpStepsAhead = 0) => signedInDashboardClient(running.server.baseUrl, customer, totpStepsAhead);

  const ownedCount = async (customer: Customer) =>
    running.server.store.collection('dashboard_credentials').count({ accountId: customer.customerId });
  const tokenStatus = async (credential: ShownCredential) =>
    (await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential)).status;
  const auditOutcomes = async (customer: Customer, action: string) =>
    (await running.server.application.audit.list({ accountId: customer.customerId, action })).map((event) => event.outcome);

  test('create without re-authentication is refused on the page and creates nothing; with the password it works, and the window spares the next one', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    const list = await client.follow(CREDENTIALS);
    expect(list.html).toContain('id="create-confirm-password"');

    const noProof = await submitCreate(client, 'Billing sync');
    expect(noProof.status).toBe(400);
    // Its form has no code field (no second factor), so only the password is asked for.
    expect(textOf(noProof.html, 'create-confirm-error')).toBe('Confirm it is you: enter your password.');
    // What was typed stays in the form.
    expect(noProof.html).toContain('value="Billing sync"');
    const wrong = await submitCreate(client, 'Billing sync', { password: 'not my password at all' });
    expect(wrong.status).toBe(400);
    expect(textOf(wrong.html, 'create-confirm-error')).toBe('The password is not correct.');
    expect(await ownedCount(customer)).toBe(0);
    expect(await auditOutcomes(customer, 'dashboard.credential.created')).toEqual(['failure', 'failure']);

    const first = shownCredential(await submitCreate(client, 'Billing sync', { password: customer.password }));
    expect(await tokenStatus(first)).toBe(200);
    // Confirmed: the form no longer asks, and a second credential needs no proof.
    expect((await client.follow(CREDENTIALS)).html).not.toContain('id="create-confirm-password"');
    const second = shownCredential(await submitCreate(client, 'Reports'));
    expect(second.id).not.toBe(first.id);
    expect(await ownedCount(customer)).toBe(2);
    const created = await running.server.application.audit.list({ accountId: customer.customerId, action: 'dashboard.credential.created' });
    expect(created.filter((event) => event.outcome === 'success').map((event) => event.details?.reauthenticated_with).sort()).toEqual([
      'earlier_reauthentication',
      'password',
    ]);
  });

  test('rotate without re-authentication asks for it and rotates nothing; a wrong proof is refused on the page; a recovery code works', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const [recoveryCode] = await running.server.application.mfa.generateRecoveryCodes(customer.customerId);
    const creator = await signedIn(customer);
    const credential = shownCredential(await submitCreate(creator, 'Nightly export', { password: customer.password }));
    // A second session of the account, e.g. a stolen cookie: it has not re-authenticated.
    const other = await signedIn(customer, 1);

    const asked = await clickRotate(other, 'Nightly export');
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('id="confirm-rotation"');
    expect(asked.html).toContain('id="rotate-confirm-code"');
    expect(asked.html).not.toContain('id="client-secret"');
    const wrong = await submitForm(other, formWith(asked.html, 'id="confirm-rotation"'), { code: '000000' });
    expect(wrong.status).toBe(400);
    expect(textOf(wrong.html, 'rotate-confirm-error')).toBe('That code is not valid. Check it and try again.');
    // Nothing rotated: no replaced secret is pending, and the original secret is the only one.
    expect((await other.follow(CREDENTIALS)).html).not.toContain('Old secret works until');
    expect(await auditOutcomes(customer, 'dashboard.credential.secret_rotated')).toEqual(['failure']);

    const rotated = await submitForm(other, formWith(asked.html, 'id="confirm-rotation"'), { code: String(recoveryCode) });
    expect(rotated.status).toBe(200);
    const newSecret = String(textOf(rotated.html, 'client-secret'));
    expect(newSecret).not.toBe(credential.secret);
    expect(await tokenStatus({ id: credential.id, secret: newSecret })).toBe(200);
    expect(await tokenStatus(credential)).toBe(200); // the grace period
    // Within the window a second rotation from the list is done at once.
    const again = await clickRotate(other, 'Nightly export');
    expect(again.status).toBe(200);
    expect(textOf(again.html, 'client-secret')).toMatch(/\S{20,}/);
  });

  test('another dashboard session of the account does not inherit the confirmation; it can still delete (that removes access)', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const confirmed = await signedIn(customer);
    const first = shownCredential(await submitCreate(confirmed, 'First', { password: customer.password }));
    const other = await signedIn(customer);

    const refused = await submitCreate(other, 'Planted');
    expect(refused.status).toBe(400);
    expect(textOf(refused.html, 'create-confirm-error')).toMatch(/enter your password/i);
    expect((await clickRotate(other, 'First')).html).toContain('id="confirm-rotation"');
    expect(await ownedCount(customer)).toBe(1);
    // The session that re-authenticated still needs nothing more.
    shownCredential(await submitCreate(confirmed, 'Second'));
    expect(await ownedCount(customer)).toBe(2);
    // Deleting takes access away: the unconfirmed session may, so an owner acting on a notice is never held up.
    const list = await other.follow(CREDENTIALS);
    const deleted = await submitForm(other, formWith(list.html, 'aria-label="Delete First"'));
    expect(deleted.status).toBe(200);
    expect(await tokenStatus(first)).toBe(401);
    expect(await ownedCount(customer)).toBe(1);
  });

  test('a re-authentication on the security page starts the window as well; a failed one does not', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const failed = await signedIn(customer);
    expect((await reauthenticateOnSecurityPage(failed, 'not my password at all')).status).toBe(400);
    expect((await failed.follow(CREDENTIALS)).html).toContain('id="create-confirm-password"');
    expect((await submitCreate(failed, 'Not yet')).status).toBe(400);

    const confirmed = await signedIn(customer);
    expect((await reauthenticateOnSecurityPage(confirmed, customer.password)).url).toBe(`${running.server.baseUrl}${SECURITY}/totp`);
    // The credential pages no longer ask: the proof given on the security page counts for them too.
    expect((await confirmed.follow(CREDENTIALS)).html).not.toContain('id="create-confirm-password"');
    const created = shownCredential(await submitCreate(confirmed, 'After the security page'));
    expect(await tokenStatus(created)).toBe(200);
    const rotated = await clickRotate(confirmed, 'After the security page');
    expect(textOf(rotated.html, 'client-secret')).toMatch(/\S{20,}/);
    const successes = await running.server.application.audit.list({ accountId: customer.customerId, action: 'dashboard.credential.created' });
    expect(successes.filter((event) => event.outcome === 'success').map((event) => event.details?.reauthenticated_with)).toEqual(['earlier_reauthentication']);
  });

  test('the owner is emailed a notice of a new credential and of a rotated secret, naming it, without any secret', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = await signedIn(customer);
    let before = running.mailbox.messages.length;
    const credential = shownCredential(await submitCreate(client, 'Partner feed', { password: customer.password }));
    const createdNotice = await running.mailbox.nextMessageTo(customer.email, before);
    expect(createdNotice.text).toContain('A new API credential was created on your account');
    expect(createdNotice.text).toContain('"Partner feed"');
    expect(createdNotice.text).toContain(credential.id);
    expect(createdNotice.text).toMatch(/at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(createdNotice.raw + createdNotice.text).not.toContain(credential.secret);

    before = running.mailbox.messages.length;
    const rotated = await clickRotate(client, 'Partner feed');
    const newSecret = String(textOf(rotated.html, 'client-secret'));
    const rotatedNotice = await running.mailbox.nextMessageTo(customer.email, before);
    expect(rotatedNotice.text).toContain('The secret of an API credential was rotated');
    expect(rotatedNotice.text).toContain('"Partner feed"');
    for (const secret of [credential.secret, newSecret]) expect(rotatedNotice.raw + rotatedNotice.text).not.toContain(secret);
  });
});

describe.each(STORE_KINDS)('the re-authentication window expires (%s store)', (storeKind) => {
  const WINDOW_SECONDS = 2;

  const running = testServer({ store: storeKind, env: { DASHBOARD_SUDO_SECONDS: String(WINDOW_SECONDS) } });

  test(`after DASHBOARD_SUDO_SECONDS (${WINDOW_SECONDS} s here) creating and rotating ask again`, async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInToDashboardOverHttp(client, customer);
    const confirmedAt = Date.now();
    const created = await submitCreate(client, 'Expiring', { password: customer.password });
    expect(created.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, confirmedAt + WINDOW_SECONDS * 1000 + 200 - Date.now())));

    const refused = await submitCreate(client, 'Too late');
    expect(refused.status).toBe(400);
    expect(textOf(refused.html, 'create-confirm-error')).toMatch(/enter your password/i);
    expect(refused.html).toContain('id="create-confirm-password"');
    expect((await clickRotate(client, 'Expiring')).html).toContain('id="confirm-rotation"');
    expect(await running.server.store.collection('dashboard_credentials').count({ accountId: customer.customerId })).toBe(1);
  });

  /**
   * A signed-in customer whose first credential, made with the password, opened the window. The window started
   * before that answer came back, so it has ended by `windowEndsBy`.
   */
  async function windowOpenedByACredential() {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInToDashboardOverHttp(client, customer);
    shownCredential(await submitCreate(client, 'First', { password: customer.password }));
    return { customer, client, windowEndsBy: Date.now() + WINDOW_SECONDS * 1000 };
  }

  test('using the window does not extend it', async () => {
    const { client, windowEndsBy } = await windowOpenedByACredential();
    await sleepUntil(windowEndsBy - 1000);
    shownCredential(await submitCreate(client, 'Within the window'));
    await sleepUntil(windowEndsBy + 200);
    expect((await submitCreate(client, 'After it')).status).toBe(400);
  });

  test('a re-authentication on the security page restarts the window', async () => {
    const { customer, client, windowEndsBy: firstWindowEndsBy } = await windowOpenedByACredential();
    await sleepUntil(firstWindowEndsBy - 1000);
    // The window restarts when this proof is checked, so it lasts at least until restartedFrom + the window.
    const restartedFrom = Date.now();
    expect((await reauthenticateOnSecurityPage(client, customer.password)).url).toBe(`${running.server.baseUrl}${SECURITY}/totp`);
    await sleepUntil(firstWindowEndsBy + 200);
    expect(Date.now()).toBeLessThan(restartedFrom + WINDOW_SECONDS * 1000 - 300); // else this machine is too slow to tell
    shownCredential(await submitCreate(client, 'After the first window'));
  });
});
