import { randomBytes } from 'node:crypto';

import { generateSecret } from 'otplib';

import { SESSION_DEVICES_COLLECTION } from '../../src/dashboard/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createCustomer, signInToDashboardOverHttp } from '../support/dashboard.js';
import { PageClient } from '../support/page-client.js';
import { DEMO, postForm, serverWithMailbox, STORE_KINDS } from '../support/server.js';

type Json = Record<string, unknown>;
const PASSWORD = 'correct horse battery staple';

describe.each(STORE_KINDS)('admin API users on the %s store', (storeKind) => {
  const running = serverWithMailbox({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, SIGNIN_FREE_FAILURES: '50' } });

  const admin = (method: string, path: string, options?: Parameters<typeof adminRequest>[3]) =>
    adminRequest(running.server.adminUrl ?? '', method, path, options);
  const newUser = async (roles: string[] = []) => {
    const email = `user-${randomBytes(4).toString('hex')}@example.com`;
    const created = await admin('POST', '/users', { body: { email, password: PASSWORD, roles } });
    expect(created.status).toBe(201);
    return { email, customerId: (created.body as Json).customer_id as string };
  };
  const passwordGrant = (email: string) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: email, password: PASSWORD, scope: 'api:read' }, DEMO);

  test('create, get and list; no password or secret in any answer', async () => {
    const { email, customerId } = await newUser(['support']);
    const fetched = await admin('GET', `/users/${customerId}`);
    expect(fetched.body).toMatchObject({ customer_id: customerId, email, roles: ['support'], status: 'active', mfa_methods: [] });
    const listed = (await admin('GET', '/users?limit=500')).body as Json[];
    expect(listed.map((user) => user.customer_id)).toContain(customerId);
    expect(JSON.stringify([fetched.body, listed])).not.toMatch(/password|argon2|secret/i);
    expect((await passwordGrant(email)).status).toBe(200);
  });

  test('400 with field errors (weak password, bad email, bad role), 409 on a taken email, 404 on unknown users', async () => {
    const weak = await admin('POST', '/users', { body: { email: 'weak@example.com', password: 'password' } });
    expect(weak.status).toBe(400);
    expect(Object.keys((weak.body as { fields: Json }).fields)).toEqual(['password']);
    const invalid = await admin('POST', '/users', { body: { email: 'not-an-email', password: PASSWORD, roles: ['has space'] } });
    expect(Object.keys((invalid.body as { fields: Json }).fields).sort()).toEqual(['email', 'roles.0']);
    const { email } = await newUser();
    expect((await admin('POST', '/users', { body: { email: email.toUpperCase(), password: PASSWORD } })).status).toBe(409);
    for (const [method, path] of [['GET', '/users/C-nobody00'], ['POST', '/users/C-nobody00/disable'], ['POST', '/users/not-an-id/reset-mfa']] as const) {
      expect((await admin(method, path)).status).toBe(404);
    }
  });

  test('set roles', async () => {
    const { customerId } = await newUser(['a']);
    const response = await admin('PUT', `/users/${customerId}/roles`, { body: { roles: ['admin', 'billing:read'] } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ roles: ['admin', 'billing:read'] });
  });

  test("disable refuses sign-in and ends the user's tokens; enable lets them back in", async () => {
    const { email, customerId } = await newUser();
    const token = (await passwordGrant(email)).body.access_token as string;
    expect((await admin('POST', '/tokens/introspect', { body: { token } })).body).toMatchObject({ active: true, sub: customerId });

    expect((await admin('POST', `/users/${customerId}/disable`)).body).toMatchObject({ status: 'disabled' });
    expect((await admin('POST', '/tokens/introspect', { body: { token } })).body).toEqual({ active: false });
    const refused = await passwordGrant(email);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');

    expect((await admin('POST', `/users/${customerId}/enable`)).body).toMatchObject({ status: 'active' });
    expect((await passwordGrant(email)).status).toBe(200);
    const events = (await admin('GET', `/audit-events?account_id=${customerId}`)).body as Json[];
    expect(events.map((event) => event.action)).toEqual(expect.arrayContaining(['admin.user.created', 'admin.user.disabled', 'admin.user.enabled']));
  });

  test('revoke-tokens ends every stored token of the user', async () => {
    const { email, customerId } = await newUser();
    const tokens = [(await passwordGrant(email)).body.access_token as string, (await passwordGrant(email)).body.access_token as string];
    const revoked = await admin('POST', `/users/${customerId}/revoke-tokens`);
    expect(revoked.body).toMatchObject({ customer_id: customerId });
    expect((revoked.body as { revoked_records: number }).revoked_records).toBeGreaterThanOrEqual(2);
    for (const token of tokens) expect((await admin('POST', '/tokens/introspect', { body: { token } })).body).toEqual({ active: false });
  });

  // An operator ending a user's sessions means every one: the dashboard's own sign-in included, whose
  // browser could otherwise keep getting tokens, and the sign-in session apps would silently reuse.
  test.each(['revoke-tokens', 'reset-mfa'])('%s also ends the dashboard and sign-in sessions of the user', async (action) => {
    const customer = await createCustomer(running.server, { totp: false });
    const browser = new PageClient(running.server.baseUrl);
    await signInToDashboardOverHttp(browser, customer);
    expect((await browser.request('/dashboard')).status).toBe(200);
    const devices = running.server.store.collection(SESSION_DEVICES_COLLECTION);
    expect(await devices.count({ accountId: customer.customerId })).toBe(1);

    expect((await admin('POST', `/users/${customer.customerId}/${action}`)).status).toBe(200);
    const after = await browser.request('/dashboard');
    expect(after.status).toBe(303);
    expect(after.location).toBe('/dashboard/signin');
    // The ended session's device record (IP, browser) goes with it.
    expect(await devices.count({ accountId: customer.customerId })).toBe(0);
    // Signing in again needs the password: the provider's sign-in session ended too.
    expect((await browser.follow('/dashboard')).html).toContain('name="password"');
  });

  test("an operator's action shows on the user's activity page without the operator's address or user agent", async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const operatorAgent = 'authtoken-cli ops-laptop-7';
    expect((await admin('POST', `/users/${customer.customerId}/revoke-tokens`, { headers: { 'user-agent': operatorAgent } })).status).toBe(200);
    // The audit trail keeps where it came from, for operators.
    const events = (await admin('GET', `/audit-events?account_id=${customer.customerId}&action=admin.user.tokens_revoked`)).body as Json[];
    expect(events[0]).toMatchObject({ user_agent: operatorAgent, ip: expect.any(String) });

    const browser = new PageClient(running.server.baseUrl, 'customer-browser/1.0');
    await signInToDashboardOverHttp(browser, customer);
    const activity = await browser.request('/dashboard/activity');
    const row = /<tr>(?:(?!<\/tr>)[\s\S])*admin\.user\.tokens_revoked[\s\S]*?<\/tr>/.exec(activity.html)?.[0] ?? '';
    expect(row).toContain('AuthToken operator');
    expect(row).not.toContain(String(events[0]?.ip));
    expect(activity.html).not.toContain(operatorAgent);
    // The customer's own events still say where they came from.
    expect(activity.html).toContain('customer-browser/1.0');
  });

  test('reset-mfa removes every second factor; the TOTP secret is never shown', async () => {
    const { email, customerId } = await newUser();
    const secret = generateSecret();
    await running.server.application.mfa.totp.install(customerId, secret);
    await running.server.application.mfa.generateRecoveryCodes(customerId);
    const before = await admin('GET', `/users/${customerId}`);
    expect((before.body as { mfa_methods: string[] }).mfa_methods).toContain('totp');
    expect(JSON.stringify(before.body)).not.toContain(secret);
    expect((await passwordGrant(email)).status).toBe(403);

    const mailBefore = running.mailbox.messages.length;
    const reset = await admin('POST', `/users/${customerId}/reset-mfa`);
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ mfa_methods: [] });
    expect((await passwordGrant(email)).status).toBe(200);
    // An operator's reset is how a talked-into helpdesk takes an account over: the owner is told at once.
    const notice = await running.mailbox.nextMessageTo(email, mailBefore);
    expect(notice.text).toContain('second factors of your AuthToken account were removed by an operator');
    // The old recovery codes go with the factors, so none of them counts again once a new factor is set up.
    expect(await running.server.application.mfa.recoveryCodes.remaining(customerId)).toBe(0);
  });

  test('require-mfa: the next sign-in must enroll a second factor; --off lifts it', async () => {
    const { email, customerId } = await newUser();
    const required = await admin('POST', `/users/${customerId}/require-mfa`, { body: {} });
    expect(required.body).toMatchObject({ mfa_enrollment_required: true });
    expect((await passwordGrant(email)).body).toMatchObject({ error: 'invalid_grant' });
    expect((await admin('POST', `/users/${customerId}/require-mfa`, { body: { required: false } })).body).toMatchObject({ mfa_enrollment_required: false });
    expect((await passwordGrant(email)).status).toBe(200);
  });

  test('clients: the password grant and MFA requirement are set per client', async () => {
    const created = await admin('POST', '/clients', { body: { name: 'First party', grant_types: ['password'], scopes: ['api:read'], password_grant: true } });
    expect(created.status).toBe(201);
    const { client_id: id, client_secret: secret } = created.body as { client_id: string; client_secret: string };
    const { email } = await newUser();
    const grant = () => postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: email, password: PASSWORD, scope: 'api:read' }, { id, secret });
    expect((await grant()).status).toBe(200);
    expect((await admin('PATCH', `/clients/${id}`, { body: { mfa_required: true } })).body).toMatchObject({ mfa_required: true, password_grant: true });
    // The client now demands a second factor this user has not enrolled.
    expect((await grant()).body).toMatchObject({ error: 'invalid_grant' });
    const reasons = ((await admin('GET', '/audit-events?action=signin.failure&limit=500')).body as { details?: { reason?: string } }[]).map((event) => event.details?.reason);
    expect(reasons).toContain('mfa_not_enrolled');
    expect((await admin('PATCH', `/clients/${id}`, { body: { password_grant: false, mfa_required: false } })).status).toBe(200);
    expect((await grant()).body.error).toBe('unauthorized_client');
  });
});
