import { createHash, randomBytes } from 'node:crypto';

import { DASHBOARD_CLIENT_ID, SESSION_DEVICES_COLLECTION } from '../../src/dashboard/index.js';
import { collectionName, type OidcDocument } from '../../src/provider/index.js';
import { DEMO_REDIRECT_URI, issueAuthorizationCode } from '../support/authorization-code.js';
import { createCustomer, CUSTOMER_PASSWORD, signInToDashboardOverHttp, silentSignInPath, type Customer } from '../support/dashboard.js';
import { formsOf, formWith, PageClient, type PageForm, type PageResponse } from '../support/page-client.js';
import { postForm, STORE_KINDS, type TestServer, testServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';

interface Client {
  id: string;
  secret: string;
}

async function newPersonOn(server: TestServer): Promise<Customer> {
  return createCustomer(server, { totp: false });
}

/** A browser (cookie jar + user agent) signed in to the dashboard through the real pages. */
async function signedInBrowserOn(server: TestServer, customer: Customer, userAgent = CHROME): Promise<PageClient> {
  const browser = new PageClient(server.baseUrl, userAgent);
  await signInToDashboardOverHttp(browser, customer);
  return browser;
}

/** Submits one of a page's forms with its hidden fields (and the given ones), following the redirects. */
async function submitForm(browser: PageClient, form: PageForm, extra: Record<string, string> = {}): Promise<PageResponse> {
  return browser.follow(form.action, { form: { ...form.fields, ...extra } });
}

async function isActiveOn(server: TestServer, token: string, client: Client): Promise<boolean> {
  const response = await postForm(`${server.baseUrl}/token/introspection`, { token }, client);
  expect(response.status).toBe(200);
  return response.body.active === true;
}

/** Creates an API credential on the dashboard; its secret is read from the page that shows it once. */
async function createCredential(browser: PageClient, name: string): Promise<Client> {
  const page = await browser.follow('/dashboard/credentials');
  // Creating needs a re-authentication (kept for a while by the session); the proof is ignored within it.
  const created = await submitForm(browser, formWith(page.html, 'Create credential'), { name, scope: 'api:read', password: CUSTOMER_PASSWORD });
  expect(created.status).toBe(200);
  return {
    id: String(/id="client-id">([^<]+)</.exec(created.html)?.[1]),
    secret: String(/id="client-secret">([^<]+)</.exec(created.html)?.[1]),
  };
}

/**
 * The dashboard's "Active tokens" and "Signed-in sessions" pages over HTTP, on both stores: what they list,
 * that revoking really revokes (introspection, prompt=none), and that nothing of another account is reachable.
 */
describe.each(STORE_KINDS)('dashboard tokens and sessions on the %s store', (storeKind) => {
  let app: Client;

  const running = testServer({ store: storeKind });
  beforeAll(async () => {
    const created = await running.server.application.clients.create({
      name: 'Photo app',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'offline_access'],
      redirectUris: [DEMO_REDIRECT_URI],
    });
    app = { id: created.clientId, secret: String(created.clientSecret) };
  });

  const newPerson = () => newPersonOn(running.server);
  const signedInBrowser = (customer: Customer, userAgent?: string) => signedInBrowserOn(running.server, customer, userAgent);
  const active = (token: string, client: Client) => isActiveOn(running.server, token, client);

  /** An access + refresh token pair of the app for the account, through the real token endpoint. */
  async function appTokens(accountId: string): Promise<{ access: string; refresh: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const code = await issueAuthorizationCode(running.server.application.provider, { clientId: app.id, codeChallenge: challenge, accountId, scope: 'openid offline_access' });
    const response = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'authorization_code', code, redirect_uri: DEMO_REDIRECT_URI, code_verifier: verifier }, app);
    expect(response.status).toBe(200);
    return { access: String(response.body.access_token), refresh: String(response.body.refresh_token) };
  }

  function revokeForm(html: string, label: string): PageForm {
    return formWith(html, `aria-label="${label}`);
  }

  test('lists the account’s and its credentials’ tokens, never their values; revoking one ends it at introspection', async () => {
    const person = await newPerson();
    const first = await appTokens(person.customerId);
    const second = await appTokens(person.customerId);
    const browser = await signedInBrowser(person);
    const credential = await createCredential(browser, 'Billing sync');
    const minted = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential);
    const credentialToken = String(minted.body.access_token);

    const page = await browser.follow('/dashboard/tokens');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.html).toContain('Photo app');
    expect(page.html).toContain('Billing sync');
    expect(page.html).toContain('id="jwt-coverage"');
    // Two app access tokens, two refresh tokens, the credential's "Try with code" token and the one minted above.
    const revokeForms = formsOf(page.html).filter((form) => form.action === '/dashboard/tokens/revoke');
    expect(revokeForms).toHaveLength(6);
    for (const value of [first.access, first.refresh, second.access, second.refresh, credentialToken]) expect(page.html).not.toContain(value);
    // The dashboard's own sign-in is not one of "your tokens".
    expect(page.html).not.toContain(DASHBOARD_CLIENT_ID);

    // An access token: only it ends.
    const appAccessForms = revokeForms.filter((form) => form.html.includes('aria-label="Revoke access token of Photo app'));
    expect(appAccessForms).toHaveLength(2);
    expect(await active(first.access, app)).toBe(true);
    // The two rows cannot be told apart (same app, same second): revoking one ends exactly one of the two.
    let afterRevoke = await submitForm(browser, appAccessForms[0] as PageForm);
    expect(afterRevoke.status).toBe(200);
    expect(afterRevoke.url).toBe(`${running.server.baseUrl}/dashboard/tokens`);
    expect([await active(first.access, app), await active(second.access, app)].filter(Boolean)).toHaveLength(1);
    expect(await active(first.refresh, app)).toBe(true);
    afterRevoke = await submitForm(browser, revokeForm(afterRevoke.html, 'Revoke access token of Photo app'));
    expect(await active(first.access, app)).toBe(false);
    expect(await active(second.access, app)).toBe(false);
    expect(formsOf(afterRevoke.html).filter((form) => form.action === '/dashboard/tokens/revoke')).toHaveLength(4);

    // A refresh token: it ends, and its grant with it (RFC 7009 2.1), so it cannot be used either.
    afterRevoke = await submitForm(browser, revokeForm(afterRevoke.html, 'Revoke refresh token of Photo app'));
    expect([await active(first.refresh, app), await active(second.refresh, app)].filter(Boolean)).toHaveLength(1);

    // A credential's token.
    expect(await active(credentialToken, credential)).toBe(true);
    const credentialForms = formsOf(afterRevoke.html).filter((form) => form.html.includes('aria-label="Revoke access token of Billing sync'));
    expect(credentialForms).toHaveLength(2);
    for (const form of credentialForms) await submitForm(browser, form);
    expect(await active(credentialToken, credential)).toBe(false);

    const events = await running.server.application.audit.list({ accountId: person.customerId });
    const revocations = events.filter((event) => event.action === 'dashboard.token.revoked');
    expect(revocations).toHaveLength(5);
    expect(revocations[0]).toMatchObject({ ip: expect.any(String), userAgent: expect.stringContaining('Chrome'), outcome: 'success' });
    const recorded = JSON.stringify(events) + running.server.logs.text;
    for (const value of [first.access, first.refresh, credentialToken, ...revokeForms.map((form) => String(form.fields.token))]) expect(recorded).not.toContain(value);
  });

  test('a credential name with a control character is refused on the page (400), never a 500', async () => {
    const browser = await signedInBrowser(await newPerson());
    const page = await browser.follow('/dashboard/credentials');
    const refused = await submitForm(browser, formWith(page.html, 'Create credential'), { name: 'Nightly\u0000export', scope: 'api:read' });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('without control characters');
  });

  test('"revoke all tokens" of a credential ends its stored tokens; the credential keeps working', async () => {
    const person = await newPerson();
    const browser = await signedInBrowser(person);
    const credential = await createCredential(browser, 'Nightly export');
    const token = String((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential)).body.access_token);
    expect(await active(token, credential)).toBe(true);
    const page = await browser.follow('/dashboard/tokens');
    const done = await submitForm(browser, formWith(page.html, 'aria-label="Revoke all tokens of Nightly export"'));
    expect(done.status).toBe(200);
    expect(await active(token, credential)).toBe(false);
    expect(done.html).toContain('id="no-tokens"');
    // The credential itself keeps working.
    expect((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential)).status).toBe(200);
    expect((await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.credential.tokens_revoked' }))[0]?.clientId).toBe(credential.id);
  });

  test('another account’s token or credential answers 404 and stays untouched; forged references too', async () => {
    const owner = await newPerson();
    const ownerTokens = await appTokens(owner.customerId);
    const ownerBrowser = await signedInBrowser(owner);
    const ownerCredential = await createCredential(ownerBrowser, 'Owner job');
    const ownerPage = await ownerBrowser.follow('/dashboard/tokens');
    const ownerForms = formsOf(ownerPage.html).filter((form) => form.action === '/dashboard/tokens/revoke');
    expect(ownerForms.length).toBeGreaterThanOrEqual(3);

    const intruder = await newPerson();
    const intruderBrowser = await signedInBrowser(intruder);
    const intruderPage = await intruderBrowser.follow('/dashboard/tokens');
    const csrf = String(formWith(intruderPage.html, 'name="csrf"').fields.csrf);
    for (const form of ownerForms) {
      const refused = await intruderBrowser.follow('/dashboard/tokens/revoke', { form: { ...form.fields, csrf } });
      expect(refused.status).toBe(404);
      expect(refused.html).toContain('No such token');
    }
    const notYours = await intruderBrowser.follow(`/dashboard/tokens/credentials/${encodeURIComponent(ownerCredential.id)}/revoke-all`, { form: { csrf } });
    expect(notYours.status).toBe(404);
    for (const forged of [{ kind: 'AccessToken', token: 'x' }, { kind: 'Session', token: String(ownerForms[0]?.fields.token) }, { kind: 'AccessToken', token: '' }, { kind: '', token: '' }]) {
      const refused = await intruderBrowser.follow('/dashboard/tokens/revoke', { form: { ...forged, csrf } });
      expect(refused.status).toBe(404);
    }
    // Right account, wrong kind: the reference is sealed for its kind.
    const wrongKind = ownerForms.find((form) => form.fields.kind === 'RefreshToken');
    const ownerCsrf = String(formWith(ownerPage.html, 'name="csrf"').fields.csrf);
    expect((await ownerBrowser.follow('/dashboard/tokens/revoke', { form: { kind: 'AccessToken', token: String(wrongKind?.fields.token), csrf: ownerCsrf } })).status).toBe(404);
    // Without a valid CSRF token nothing happens either.
    expect((await ownerBrowser.follow('/dashboard/tokens/revoke', { form: { ...ownerForms[0]?.fields, csrf: 'forged' } })).status).toBe(403);

    expect(await active(ownerTokens.access, app)).toBe(true);
    expect(await active(ownerTokens.refresh, app)).toBe(true);
    expect(formsOf((await ownerBrowser.follow('/dashboard/tokens')).html).filter((form) => form.action === '/dashboard/tokens/revoke')).toHaveLength(ownerForms.length);
  });

  /** What the authorization endpoint answers this browser for a silent sign-in (prompt=none). */
  async function silentSignIn(browser: PageClient): Promise<URL> {
    const response = await browser.request(silentSignInPath(running.server.baseUrl));
    expect(response.status).toBe(303);
    return new URL(String(response.headers.get('location')), running.server.baseUrl);
  }

  test('lists both kinds of session with device, IP and times; signing one out ends it (prompt=none -> login_required)', async () => {
    const person = await newPerson();
    const laptop = await signedInBrowser(person);
    const phone = await signedInBrowser(person, IPHONE);
    expect((await silentSignIn(phone)).searchParams.get('code')).toEqual(expect.any(String));

    const page = await laptop.follow('/dashboard/sessions');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const signOutForms = formsOf(page.html).filter((form) => form.action === '/dashboard/sessions/end');
    expect(signOutForms).toHaveLength(4);
    expect(page.html).toContain('Chrome 140 on Linux (desktop)');
    expect(page.html).toContain('Safari 17 on iOS (iPhone)');
    expect(page.html).toContain('127.0.0.1');
    expect(page.html.match(/\(this browser\)<\/strong>/g)).toHaveLength(2);

    // The phone's sign-in session: its silent sign-in now needs a login; its dashboard session is still there.
    await submitForm(laptop, formWith(page.html, 'aria-label="Sign out sign-in session on Safari 17 on iOS (iPhone)"'));
    expect((await silentSignIn(phone)).searchParams.get('error')).toBe('login_required');
    expect((await phone.request('/dashboard')).status).toBe(200);

    // The phone's dashboard session: that browser is signed out of the dashboard.
    const after = await laptop.follow('/dashboard/sessions');
    expect(formsOf(after.html).filter((form) => form.action === '/dashboard/sessions/end')).toHaveLength(3);
    await submitForm(laptop, formWith(after.html, 'aria-label="Sign out dashboard session on Safari 17 on iOS (iPhone)"'));
    const signedOut = await phone.request('/dashboard');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/dashboard/signin');

    // The laptop is untouched.
    expect((await silentSignIn(laptop)).searchParams.get('code')).toEqual(expect.any(String));
    expect((await laptop.request('/dashboard')).status).toBe(200);
    const actions = (await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.session.ended' })).map((event) => event.details?.kind);
    expect(actions.sort()).toEqual(['dashboard', 'sign-in']);
  });

  test('"sign out all other sessions" keeps only this browser’s; another account’s session answers 404', async () => {
    const person = await newPerson();
    const laptop = await signedInBrowser(person);
    const phone = await signedInBrowser(person, IPHONE);
    const desktop = await signedInBrowser(person, FIREFOX);
    const stranger = await newPerson();
    const strangerBrowser = await signedInBrowser(stranger);

    // The stranger cannot end the person's sessions with references from the person's page.
    const personPage = await laptop.follow('/dashboard/sessions');
    const strangerCsrf = String(formWith((await strangerBrowser.follow('/dashboard/sessions')).html, 'name="csrf"').fields.csrf);
    for (const form of formsOf(personPage.html).filter((candidate) => candidate.action === '/dashboard/sessions/end')) {
      const refused = await strangerBrowser.follow('/dashboard/sessions/end', { form: { ...form.fields, csrf: strangerCsrf } });
      expect(refused.status).toBe(404);
      expect(refused.html).toContain('No such session');
    }
    expect((await silentSignIn(phone)).searchParams.get('code')).toEqual(expect.any(String));

    const done = await submitForm(laptop, formWith(personPage.html, 'Sign out all other sessions'));
    expect(done.status).toBe(200);
    expect(formsOf(done.html).filter((form) => form.action === '/dashboard/sessions/end')).toHaveLength(2);
    for (const other of [phone, desktop]) {
      expect((await silentSignIn(other)).searchParams.get('error')).toBe('login_required');
      expect((await other.request('/dashboard')).status).toBe(303);
    }
    expect((await silentSignIn(laptop)).searchParams.get('code')).toEqual(expect.any(String));
    expect((await laptop.request('/dashboard')).status).toBe(200);
    // The stranger's sessions are not "other sessions" of this account.
    expect((await silentSignIn(strangerBrowser)).searchParams.get('code')).toEqual(expect.any(String));
    expect((await strangerBrowser.request('/dashboard')).status).toBe(200);
  });

  test('signing out this browser’s own dashboard session from the list signs it out of the dashboard', async () => {
    const person = await newPerson();
    const laptop = await signedInBrowser(person);
    const page = await laptop.follow('/dashboard/sessions');
    const signedOut = await submitForm(laptop, formWith(page.html, 'aria-label="Sign out dashboard session on Chrome 140 on Linux (desktop) (this browser)"'));
    expect(signedOut.status).toBe(200);
    expect(signedOut.html).toContain('You are signed out of the dashboard');
    const after = await laptop.request('/dashboard');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/dashboard/signin');
  });

  test('"Sign out" on the dashboard signs this browser out of sign-in too: coming back asks for the password; another browser keeps its own', async () => {
    const person = await newPerson();
    const laptop = await signedInBrowser(person);
    const phone = await signedInBrowser(person, IPHONE);
    const overview = await laptop.follow('/dashboard');
    const signedOut = await submitForm(laptop, formWith(overview.html, 'Sign out'));
    expect(signedOut.status).toBe(200);
    expect(signedOut.html).toContain('this browser is signed out of AuthToken');
    // Before, the untouched sign-in session signed the browser straight back in to the dashboard.
    expect((await silentSignIn(laptop)).searchParams.get('error')).toBe('login_required');
    const again = await laptop.follow('/dashboard');
    expect(again.html).toContain('name="password"');
    expect(again.html).not.toContain(person.customerId);
    expect((await silentSignIn(phone)).searchParams.get('code')).toEqual(expect.any(String));
    expect((await phone.request('/dashboard')).status).toBe(200);
  });

  test('an OpenID logout (/session/end) ends the sign-in session and forgets its device record', async () => {
    const person = await newPerson();
    const browser = await signedInBrowser(person);
    const devices = running.server.store.collection(SESSION_DEVICES_COLLECTION);
    // The device record is written, and forgotten, behind the provider's answers.
    await waitFor(async () => (await devices.count({ accountId: person.customerId })) === 1, 'the device record of the sign-in');

    const confirm = await browser.follow('/session/end');
    expect(confirm.status).toBe(200);
    const form = formsOf(confirm.html).find((candidate) => candidate.action.endsWith('/session/end/confirm'));
    expect(form).toBeDefined();
    const signedOut = await submitForm(browser, form as PageForm, { logout: 'yes' });
    expect(signedOut.status).toBe(200);

    expect((await silentSignIn(browser)).searchParams.get('error')).toBe('login_required');
    await waitFor(async () => (await devices.count({ accountId: person.customerId })) === 0, 'the device record to be forgotten');
  });

  test('"last seen" of a sign-in session is written at most once per interval', async () => {
    const person = await newPerson();
    const browser = await signedInBrowser(person);
    const devices = running.server.store.collection<{ _id: string; accountId: string; lastSeenAt: Date }>(SESSION_DEVICES_COLLECTION);
    const [record] = await devices.find({ accountId: person.customerId });
    expect(record).toBeDefined();
    const signedInSeen = record?.lastSeenAt.getTime();

    // Within the interval (60 s by default): no write.
    await silentSignIn(browser);
    expect((await devices.findOne({ _id: String(record?._id) }))?.lastSeenAt.getTime()).toBe(signedInSeen);

    // Once the last sighting is older than the interval, the next request moves it on.
    const longAgo = new Date(Date.now() - 5 * 60 * 1000);
    await devices.updateOne({ _id: String(record?._id) }, { $set: { lastSeenAt: longAgo } });
    await silentSignIn(browser);
    const moved = (await devices.findOne({ _id: String(record?._id) }))?.lastSeenAt.getTime() ?? 0;
    expect(moved).toBeGreaterThan(longAgo.getTime());
  });
});

describe.each(STORE_KINDS)('dashboard tokens with JWT access tokens on the %s store', (storeKind) => {
  const running = testServer({ store: storeKind, env: { ACCESS_TOKEN_FORMAT: 'jwt' } });

  test('a credential’s JWTs are not listed (never stored) and "revoke all tokens" ends them at introspection', async () => {
    const person = await newPersonOn(running.server);
    const browser = await signedInBrowserOn(running.server, person);
    const credential = await createCredential(browser, 'JWT job');
    const jwt = String((await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, credential)).body.access_token);
    expect(jwt.split('.')).toHaveLength(3);
    expect(await isActiveOn(running.server, jwt, credential)).toBe(true);

    const page = await browser.follow('/dashboard/tokens');
    expect(page.html).toContain('id="no-tokens"');
    expect(page.html).toContain('id="jwt-coverage"');
    await submitForm(browser, formWith(page.html, 'aria-label="Revoke all tokens of JWT job"'));
    expect(await isActiveOn(running.server, jwt, credential)).toBe(false);
  });
});

/**
 * Signing a sign-in session out from the dashboard revokes the grants it gave apps, as oidc-provider's own
 * logout does (end_session.js): every app authorization of the session, except those that persist logout
 * (offline_access). Access tokens are JWTs here: an opaque access token of a grant without offline_access
 * is bound to its session by oidc-provider already (expiresWithSession), so only a JWT shows the grant's end.
 */
describe.each(STORE_KINDS)('signing a sign-in session out revokes its apps’ grants on the %s store', (storeKind) => {
  let photoApp: Client;
  let backupApp: Client;

  const running = testServer({ store: storeKind, env: { ACCESS_TOKEN_FORMAT: 'jwt' } });
  beforeAll(async () => {
    const app = async (name: string): Promise<Client> => {
      const created = await running.server.application.clients.create({
        name,
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'offline_access', 'api:read'],
        redirectUris: [DEMO_REDIRECT_URI],
      });
      return { id: created.clientId, secret: String(created.clientSecret) };
    };
    photoApp = await app('Photo app');
    backupApp = await app('Backup app');
  });

  const active = (token: string, client: Client) => isActiveOn(running.server, token, client);

  /**
   * The authorization code flow of an app in this browser, through its sign-in session and the consent page,
   * then the code exchanged at the token endpoint. offline_access is kept by oidc-provider only with
   * prompt=consent; it is what gives a refresh token, and what makes the authorization persist logout.
   */
  async function appTokensThrough(browser: PageClient, client: Client, options: { offline: boolean }): Promise<{ access: string; refresh: string | undefined }> {
    const verifier = randomBytes(32).toString('base64url');
    const parameters = new URLSearchParams({
      client_id: client.id,
      response_type: 'code',
      scope: options.offline ? 'openid api:read offline_access' : 'openid api:read',
      redirect_uri: DEMO_REDIRECT_URI,
      state: 'app',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(options.offline ? { prompt: 'consent' } : {}),
    });
    let response = await browser.request(`/auth?${parameters.toString()}`);
    for (let hop = 0; hop < 10; hop += 1) {
      if (response.location?.startsWith(DEMO_REDIRECT_URI)) break;
      if (response.location) {
        response = await browser.request(new URL(response.location, response.url).toString());
      } else if (response.status === 200 && /action="\/interaction\/[^"/]+\/consent"/.test(response.html)) {
        const consent = formWith(response.html, 'value="allow"');
        response = await browser.request(consent.action, { form: { ...consent.fields, decision: 'allow' } });
      } else {
        throw new Error(`the app's authorization stopped at ${response.url} (${response.status}):\n${response.html.slice(0, 1500)}`);
      }
    }
    const code = new URL(String(response.location)).searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const tokens = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'authorization_code', code: String(code), redirect_uri: DEMO_REDIRECT_URI, code_verifier: verifier }, client);
    expect(tokens.status).toBe(200);
    const access = String(tokens.body.access_token);
    expect(access.split('.')).toHaveLength(3);
    return { access, refresh: typeof tokens.body.refresh_token === 'string' ? tokens.body.refresh_token : undefined };
  }

  async function refreshes(refreshToken: string, client: Client): Promise<{ status: number; error: unknown }> {
    const response = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
    return { status: response.status, error: response.body.error };
  }

  test('"Sign out" on a sign-in session ends the access an app got through it', async () => {
    const person = await newPersonOn(running.server);
    const laptop = await signedInBrowserOn(running.server, person);
    const phone = await signedInBrowserOn(running.server, person, IPHONE);
    const onPhone = await appTokensThrough(phone, photoApp, { offline: false });
    // Without offline_access oidc-provider issues no refresh token (issueRefreshToken's default).
    expect(onPhone.refresh).toBeUndefined();
    expect(await active(onPhone.access, photoApp)).toBe(true);

    const page = await laptop.follow('/dashboard/sessions');
    await submitForm(laptop, formWith(page.html, 'aria-label="Sign out sign-in session on Safari 17 on iOS (iPhone)"'));

    expect(await active(onPhone.access, photoApp)).toBe(false);
    expect((await laptop.follow('/dashboard/apps')).html).not.toContain('Photo app');
    // The phone's grants were the Photo app's and the dashboard's own sign-in.
    const [event] = await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.session.ended' });
    expect(event?.details).toMatchObject({ kind: 'sign-in', grantsRevoked: '2' });
    expect(page.html).toContain('also revokes the access apps got through it');
  });

  test('"Sign out all other sessions" ends what apps got through the other browsers’ sessions, not this one’s', async () => {
    const person = await newPersonOn(running.server);
    const laptop = await signedInBrowserOn(running.server, person);
    const phone = await signedInBrowserOn(running.server, person, IPHONE);
    const onLaptop = await appTokensThrough(laptop, photoApp, { offline: false });
    const onPhone = await appTokensThrough(phone, photoApp, { offline: false });
    const stranger = await newPersonOn(running.server);
    const strangerBrowser = await signedInBrowserOn(running.server, stranger, FIREFOX);
    const onStranger = await appTokensThrough(strangerBrowser, photoApp, { offline: false });

    const page = await laptop.follow('/dashboard/sessions');
    await submitForm(laptop, formWith(page.html, 'Sign out all other sessions'));

    expect(await active(onPhone.access, photoApp)).toBe(false);
    expect(await active(onLaptop.access, photoApp)).toBe(true);
    expect(await active(onStranger.access, photoApp)).toBe(true);
    const [event] = await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.session.others_ended' });
    expect(event?.details).toMatchObject({ signInSessions: '1', dashboardSessions: '1', grantsRevoked: '2' });
  });

  test('an app granted offline access keeps it (as after an OpenID logout); the session’s other apps lose theirs', async () => {
    const person = await newPersonOn(running.server);
    const laptop = await signedInBrowserOn(running.server, person);
    const phone = await signedInBrowserOn(running.server, person, IPHONE);
    const offline = await appTokensThrough(phone, backupApp, { offline: true });
    const online = await appTokensThrough(phone, photoApp, { offline: false });
    expect(offline.refresh).toEqual(expect.any(String));

    const page = await laptop.follow('/dashboard/sessions');
    await submitForm(laptop, formWith(page.html, 'aria-label="Sign out sign-in session on Safari 17 on iOS (iPhone)"'));

    expect(await active(online.access, photoApp)).toBe(false);
    expect(await active(offline.access, backupApp)).toBe(true);
    expect(await refreshes(String(offline.refresh), backupApp)).toEqual({ status: 200, error: undefined });
    expect((await laptop.follow('/dashboard/apps')).html).toContain('Backup app');
    expect(page.html).toContain('href="/dashboard/apps"');
  });

  test('a stored session whose payload is not what we wrote is listed and signed out, never a 500', async () => {
    const person = await newPersonOn(running.server);
    const laptop = await signedInBrowserOn(running.server, person);
    await running.server.store.collection<OidcDocument>(collectionName('Session')).insert({
      _id: `damaged-${randomBytes(8).toString('hex')}`,
      data: '{not json',
      accountId: person.customerId,
      uid: `uid-${randomBytes(8).toString('hex')}`,
      createdAt: new Date(),
    });
    const page = await laptop.follow('/dashboard/sessions');
    expect(page.status).toBe(200);
    const ended = await submitForm(laptop, formWith(page.html, 'aria-label="Sign out sign-in session on Unknown device"'));
    expect(ended.status).toBe(200);
    expect(ended.url).toBe(`${running.server.baseUrl}/dashboard/sessions`);
    expect(ended.html).not.toContain('Unknown device');
    const [event] = await running.server.application.audit.list({ accountId: person.customerId, action: 'dashboard.session.ended' });
    expect(event?.details).toMatchObject({ kind: 'sign-in', grantsRevoked: '0' });
  });

  test('a stored grant or token of another shape is listed with what is known, never a 500', async () => {
    const person = await newPersonOn(running.server);
    const laptop = await signedInBrowserOn(running.server, person);
    const record = (data: string): OidcDocument => ({
      _id: `odd-${randomBytes(8).toString('hex')}`,
      data,
      accountId: person.customerId,
      clientId: photoApp.id,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    // Damaged JSON, and well-formed JSON whose fields have other types than oidc-provider writes today.
    await running.server.store.collection<OidcDocument>(collectionName('Grant')).insert(record('{not json'));
    await running.server.store.collection<OidcDocument>(collectionName('Grant')).insert(record(JSON.stringify({ openid: 'scope', resources: { api: 7, other: 'api:read' } })));
    await running.server.store.collection<OidcDocument>(collectionName('AccessToken')).insert(record('[1, 2]'));
    await running.server.store.collection<OidcDocument>(collectionName('AccessToken')).insert(record(JSON.stringify({ scope: ['api:read'], iat: 'yesterday', exp: null })));

    const apps = await laptop.follow('/dashboard/apps');
    expect(apps.status).toBe(200);
    expect(apps.html.split('Photo app').length - 1).toBeGreaterThanOrEqual(2);
    expect(apps.html).toContain('api:read');
    const tokens = await laptop.follow('/dashboard/tokens');
    expect(tokens.status).toBe(200);
    expect(tokens.html.split('Photo app').length - 1).toBeGreaterThanOrEqual(2);
  });
});
