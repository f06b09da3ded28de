import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import { generate, generateSecret } from 'otplib';

import { signWebhookBody, WEBHOOK_SIGNATURE_HEADER } from '../../src/mfa/index.js';
import { AUTH0_MFA_OTP_GRANT_TYPE, collectionName, MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { totpStepWithSecondsLeft } from '../support/dashboard.js';
import { DEMO, postForm, serverWithMailbox, startTestServer, STORE_KINDS, type TestServer, testServer } from '../support/server.js';
import { BURST_FREE_FAILURES, BURST_SIZE, BURST_THROTTLE_ENV } from '../support/burst.js';
import { windowWithSecondsLeft } from '../support/clock.js';

const PASSWORD = 'correct horse battery staple';
const REPORTS_API = 'https://reports.example/api';

interface TestUser {
  email: string;
  customerId: string;
  totpSecret: string;
}

/** A fresh user with TOTP enrolled, so no test spends another test's time step. */
async function newUser(server: TestServer, options: { totp?: boolean } = {}): Promise<TestUser> {
  const email = `user-${randomBytes(4).toString('hex')}@example.com`;
  const account = await server.application.accounts.create({ email, password: PASSWORD, roles: ['tester'] });
  const totpSecret = generateSecret();
  if (options.totp !== false) await server.application.mfa.totp.install(account.customerId, totpSecret);
  return { email, customerId: account.customerId, totpSecret };
}

const totpCode = (user: TestUser, offsetSeconds = 0, epoch = Math.floor(Date.now() / 1000)) =>
  generate({ secret: user.totpSecret, epoch: epoch + offsetSeconds });

describe.each(STORE_KINDS)('password grant with MFA on the %s store', (storeKind) => {
  const running = serverWithMailbox({
    store: storeKind,
    env: {
      SIGNIN_FREE_FAILURES: '50',
      ARGON2_MEMORY_KIB: '19456',
      RESOURCE_SERVERS: JSON.stringify([{ identifier: REPORTS_API, scopes: ['reports:read'] }]),
      // Test users hold the role `tester` only.
      SCOPE_ROLE_REQUIREMENTS: JSON.stringify({ 'api:write': 'writer' }),
    },
  });

  const token = (form: Record<string, string | string[]>, basic = DEMO) => postForm(`${running.server.baseUrl}/token`, form, basic);
  const passwordStep = (user: TestUser, extra: Record<string, string | string[]> = {}) =>
    token({ grant_type: 'password', username: user.email, password: PASSWORD, scope: 'api:read', ...extra });
  const grantsOf = (user: TestUser) => running.server.store.collection<{ _id: string; accountId?: string }>(collectionName('Grant')).find({ accountId: user.customerId });
  const mfaToken = async (user: TestUser): Promise<string> => {
    const response = await passwordStep(user);
    expect(response.status).toBe(403);
    return String(response.body.mfa_token);
  };

  test('discovery lists the password grant and both mfa-otp grant types', async () => {
    const discovery = (await (await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] };
    expect(discovery.grant_types_supported).toEqual(expect.arrayContaining(['password', MFA_OTP_GRANT_TYPE, AUTH0_MFA_OTP_GRANT_TYPE]));
  });

  test('one request: password + TOTP gives tokens whose introspection carries amr, acr, roles and customer_id', async () => {
    const user = await newUser(running.server);
    const response = await passwordStep(user, { otp: await totpCode(user), scope: 'openid api:read' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read' });
    const [, idTokenPayload] = String(response.body.id_token).split('.');
    expect(JSON.parse(Buffer.from(String(idTokenPayload), 'base64url').toString())).toMatchObject({
      sub: user.customerId,
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:authtoken:acr:mfa',
      aud: DEMO.id,
    });
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(response.body.access_token) }, DEMO);
    expect(introspection.body).toMatchObject({
      active: true,
      sub: user.customerId,
      customer_id: user.customerId,
      roles: ['tester'],
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:authtoken:acr:mfa',
      client_id: DEMO.id,
    });
  });

  test('two steps: mfa_required with mfa_token and methods, then the mfa-otp grant with a TOTP code', async () => {
    const user = await newUser(running.server);
    const first = await passwordStep(user);
    expect(first.status).toBe(403);
    expect(first.body).toMatchObject({ error: 'mfa_required', mfa_methods: ['totp', 'email'] });
    expect(typeof first.body.mfa_token).toBe('string');
    expect(first.headers.get('cache-control')).toBe('no-store');
    const second = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: String(first.body.mfa_token), otp: await totpCode(user) });
    expect(second.status).toBe(200);
    expect(second.body.scope).toBe('api:read');
    // Spent on success.
    const again = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: String(first.body.mfa_token), otp: await totpCode(user, 30) });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });

  test("Auth0's mfa-otp grant type URI is an alias", async () => {
    const user = await newUser(running.server);
    const response = await token({ grant_type: AUTH0_MFA_OTP_GRANT_TYPE, mfa_token: await mfaToken(user), otp: await totpCode(user) });
    expect(response.status).toBe(200);
  });

  test('emailed code: /mfa/challenge sends it over SMTP, the mfa-otp grant accepts it; resend within the cooldown is 429', async () => {
    const user = await newUser(running.server);
    const mfa = await mfaToken(user);
    const before = running.mailbox.messages.length;
    const challenge = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' }, DEMO);
    expect(challenge.status).toBe(200);
    const code = await running.mailbox.codeSentTo(user.email, before);
    const resend = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' }, DEMO);
    expect(resend.status).toBe(429);
    expect(Number(resend.headers.get('retry-after'))).toBeGreaterThan(0);
    const response = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: code });
    expect(response.status).toBe(200);
    expect(running.server.logs.text).not.toContain(code);
    expect(running.server.logs.text).not.toContain(mfa);
    expect(running.server.logs.text).not.toContain(PASSWORD);
  });

  test('/mfa/challenge needs the client the mfa_token was issued to', async () => {
    const user = await newUser(running.server);
    const mfa = await mfaToken(user);
    const unauthenticated = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body.error).toBe('invalid_client');
    const other = await running.server.application.clients.create({ name: 'Other', grantTypes: ['client_credentials'], scopes: ['api:read'], passwordGrant: true });
    const foreign = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' }, { id: other.clientId, secret: String(other.clientSecret) });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe('invalid_grant');
    const missing = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa }, DEMO);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    // One authentication method per request (RFC 6749 2.3), as at /token: Basic plus a body secret is refused.
    const twoMethods = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email', client_id: DEMO.id, client_secret: 'wrong' }, DEMO);
    expect(twoMethods.status).toBe(400);
    expect(twoMethods.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/one mechanism/) });
  });

  test('an unknown resource is invalid_target before the code is checked: the authenticator code stays unspent', async () => {
    const user = await newUser(running.server);
    const code = await totpCode(user);
    const unknown = await passwordStep(user, { otp: code, resource: 'https://unknown.example/api' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_target');
    expect((await passwordStep(user, { otp: code })).status).toBe(200);
  });

  test('two resource indicators are invalid_target before the password is checked: no mfa_token, the code stays unspent', async () => {
    const user = await newUser(running.server);
    const code = await totpCode(user);
    // We issue one audience per token (RFC 8707 2); the grant used to pick one and drop the other's scopes.
    const resource = [running.server.config.defaultResource, REPORTS_API];
    const oneRequest = await passwordStep(user, { otp: code, resource });
    expect(oneRequest.status).toBe(400);
    expect(oneRequest.body.error).toBe('invalid_target');
    // The two-step route would have kept only one of them in the mfa_token: none is handed out.
    const twoSteps = await passwordStep(user, { resource });
    expect(twoSteps.status).toBe(400);
    expect(twoSteps.body.error).toBe('invalid_target');
    expect(twoSteps.body.mfa_token).toBeUndefined();
    const wrongPassword = await token({ grant_type: 'password', username: user.email, password: 'not the password at all', resource });
    expect(wrongPassword.body.error).toBe('invalid_target');
    const signIns = (await running.server.application.audit.list({ accountId: user.customerId })).filter((event) => event.action.startsWith('signin.'));
    expect(signIns).toEqual([]);
    expect((await passwordStep(user, { otp: code })).status).toBe(200);
  });

  test('a scope needing a role the account lacks is invalid_scope after the password, before the second factor: nothing spent or stored', async () => {
    const user = await newUser(running.server);
    const code = await totpCode(user);
    const refusal = { error: 'invalid_scope', error_description: 'scope requires the role writer', scope: 'api:write' };
    const oneRequest = await passwordStep(user, { otp: code, scope: 'api:read api:write' });
    expect(oneRequest.status).toBe(400);
    expect(oneRequest.body).toEqual(refusal);
    // No mfa_token for a request that cannot succeed.
    const twoSteps = await passwordStep(user, { scope: 'api:write' });
    expect(twoSteps.status).toBe(400);
    expect(twoSteps.body).toEqual(refusal);
    const actions = (await running.server.application.audit.list({ accountId: user.customerId })).map((event) => event.action);
    expect(actions).not.toContain('signin.success');
    expect(actions).not.toContain('signin.mfa_required');
    expect(await grantsOf(user)).toEqual([]);
    // The authenticator code was not checked, so not spent.
    expect((await passwordStep(user, { otp: code })).status).toBe(200);

    const withoutSecondFactor = await newUser(running.server, { totp: false });
    const refused = await passwordStep(withoutSecondFactor, { scope: 'api:write' });
    expect(refused.body).toEqual(refusal);
    expect(await grantsOf(withoutSecondFactor)).toEqual([]);
  });

  test('a role removed between the two steps: the mfa-otp step refuses the scope before the code, nothing spent or stored', async () => {
    const user = await newUser(running.server);
    await running.server.application.accounts.setRoles(user.customerId, ['tester', 'writer']);
    const first = await passwordStep(user, { scope: 'api:write' });
    expect(first.status).toBe(403);
    await running.server.application.accounts.setRoles(user.customerId, ['tester']);
    const code = await totpCode(user);
    const second = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: String(first.body.mfa_token), otp: code });
    expect(second.status).toBe(400);
    expect(second.body).toMatchObject({ error: 'invalid_scope', error_description: 'scope requires the role writer' });
    expect(await grantsOf(user)).toEqual([]);
    const actions = (await running.server.application.audit.list({ accountId: user.customerId })).map((event) => event.action);
    expect(actions).not.toContain('signin.success');
    // The code was not checked, so not spent (a checked one would now be refused as a replay).
    await running.server.application.accounts.setRoles(user.customerId, ['tester', 'writer']);
    expect((await passwordStep(user, { otp: code, scope: 'api:write' })).status).toBe(200);
  });

  test('a replayed TOTP code is refused', async () => {
    const user = await newUser(running.server);
    const code = await totpCode(user);
    expect((await passwordStep(user, { otp: code })).status).toBe(200);
    const replay = await passwordStep(user, { otp: code });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
  });

  test('window edges: one step either side is accepted, two steps are not', async () => {
    const user = await newUser(running.server);
    // The codes are made from one time and checked by the server's clock in that same step, with 5 s to spare:
    // a step change between making a code and its check turned +60 into one step ahead (accepted) and -30
    // into two steps behind (refused).
    const now = await totpStepWithSecondsLeft(5);
    for (const offset of [-60, 60]) {
      const refused = await passwordStep(user, { otp: await totpCode(user, offset, now) });
      expect(refused.status).toBe(400);
    }
    // Earlier step first: after a step is accepted, it and every earlier one are spent.
    for (const offset of [-30, 30]) {
      const accepted = await passwordStep(user, { otp: await totpCode(user, offset, now) });
      expect(accepted.status).toBe(200);
    }
  });

  test('a wrong code is invalid_grant; five wrong codes spend the mfa_token', async () => {
    const user = await newUser(running.server);
    const mfa = await mfaToken(user);
    const right = await totpCode(user);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: wrong });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_grant');
    }
    const afterwards = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: right });
    expect(afterwards.status).toBe(400);
    expect(afterwards.body.error).toBe('invalid_grant');
  });

  test('concurrent wrong codes on one mfa_token: at most five are checked, and the token is spent', async () => {
    const user = await newUser(running.server);
    const mfa = await mfaToken(user);
    const right = await totpCode(user);
    const wrong = right === '000000' ? '111111' : '000000';
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: wrong })),
    );
    expect(answers.every((answer) => answer.status === 400 && answer.body.error === 'invalid_grant')).toBe(true);
    const failures = await running.server.application.audit.list({ accountId: user.customerId, action: 'signin.failure' });
    const checked = failures.filter((event) => event.details?.reason === 'wrong_code');
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.length).toBeLessThanOrEqual(5);
    const afterwards = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: right });
    expect(afterwards.status).toBe(400);
    expect(afterwards.body.error).toBe('invalid_grant');
  });

  test('an mfa_token presented by another client, or expired, is invalid_grant', async () => {
    const user = await newUser(running.server);
    const mfa = await mfaToken(user);
    const other = await running.server.application.clients.create({ name: 'Other', grantTypes: ['client_credentials'], scopes: ['api:read'], passwordGrant: true });
    const foreign = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: await totpCode(user) }, { id: other.clientId, secret: String(other.clientSecret) });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe('invalid_grant');

    // Age the record past its lifetime rather than wait five minutes.
    await running.server.store.collection('mfa_tokens').updateOne({ clientId: DEMO.id, accountId: user.customerId }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: await totpCode(user) });
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe('invalid_grant');
  });

  test('a recovery code works once', async () => {
    const user = await newUser(running.server);
    const [code] = await running.server.application.mfa.generateRecoveryCodes(user.customerId);
    const first = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: await mfaToken(user), recovery_code: String(code) });
    expect(first.status).toBe(200);
    const second = await token({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: await mfaToken(user), recovery_code: String(code) });
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
  });

  test('missing parameters are invalid_request', async () => {
    const user = await newUser(running.server);
    const forms: Record<string, string>[] = [
      { grant_type: 'password', password: PASSWORD },
      { grant_type: 'password', username: user.email },
      { grant_type: MFA_OTP_GRANT_TYPE, otp: '123456' },
      { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: 'x' },
    ];
    for (const form of forms) {
      const response = await token(form);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
  });

  test('a client not allowed the password grant gets unauthorized_client', async () => {
    const user = await newUser(running.server);
    const other = await running.server.application.clients.create({ name: 'Partner', grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const response = await token({ grant_type: 'password', username: user.email, password: PASSWORD }, { id: other.clientId, secret: String(other.clientSecret) });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('unauthorized_client');
  });

  test('unknown user and wrong password get the same answer', async () => {
    const user = await newUser(running.server);
    const unknown = await token({ grant_type: 'password', username: 'nobody@example.com', password: PASSWORD });
    const wrong = await token({ grant_type: 'password', username: user.email, password: 'not the password at all' });
    expect(unknown.status).toBe(400);
    expect(wrong.status).toBe(400);
    expect(unknown.body).toEqual(wrong.body);
  });

  test('a user without a second factor gets tokens with amr pwd; offline_access adds a refresh token that works', async () => {
    const user = await newUser(running.server, { totp: false });
    const response = await token({ grant_type: 'password', username: user.customerId, password: PASSWORD, scope: 'api:read offline_access' });
    expect(response.status).toBe(200);
    expect(typeof response.body.refresh_token).toBe('string');
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(response.body.refresh_token) });
    expect(refreshed.status).toBe(200);
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(refreshed.body.access_token) }, DEMO);
    expect(introspection.body).toMatchObject({ active: true, amr: ['pwd'], acr: 'urn:authtoken:acr:pwd', customer_id: user.customerId });
  });

  test('a sign-in is audited with the factor used', async () => {
    const user = await newUser(running.server);
    await passwordStep(user, { otp: await totpCode(user) });
    const events = await running.server.application.audit.list({ accountId: user.customerId });
    expect(events.map((event) => event.action)).toContain('signin.success');
    expect(events.find((event) => event.action === 'signin.success')?.details).toMatchObject({ factor: 'totp' });
  });
});

describe('throttling (memory store, short backoff)', () => {
  const running = serverWithMailbox({
    store: 'memory',
    env: {
      SIGNIN_FREE_FAILURES: '2',
      SIGNIN_BACKOFF_BASE_MS: '400',
      SIGNIN_BACKOFF_MAX_MS: '800',
      SIGNIN_ACCOUNT_CEILING: '6',
      RATE_LIMIT_PASSWORD_GRANT: '40',
      RATE_LIMIT_MFA_CHALLENGE: '3',
      // Windows start on the clock: an hour-long one keeps these counts from straddling a window start.
      RATE_LIMIT_WINDOW_SECONDS: '3600',
    },
  });
  const token = (form: Record<string, string>) => postForm(`${running.server.baseUrl}/token`, form, DEMO);

  test('failures beyond the free ones throttle the (account, IP) pair like bad credentials; it is released after the backoff', async () => {
    const user = await newUser(running.server, { totp: false });
    const attempt = (password: string) => token({ grant_type: 'password', username: user.email, password });
    for (let failure = 0; failure < 3; failure += 1) expect((await attempt('wrong password here')).status).toBe(400);
    const throttled = await attempt(PASSWORD);
    expect(throttled.status).toBe(400);
    expect(throttled.body.error).toBe('invalid_grant');
    await new Promise((resolve) => setTimeout(resolve, 450));
    const released = await attempt(PASSWORD);
    expect(released.status).toBe(200);
    const events = await running.server.application.audit.list({ accountId: user.customerId });
    expect(events.map((event) => event.action)).toContain('signin.throttled');
  });

  test('the per-account ceiling refuses every attempt and emails the owner once', async () => {
    const user = await newUser(running.server, { totp: false });
    const before = running.mailbox.messages.length;
    for (let failure = 0; failure < 6; failure += 1) {
      await new Promise((resolve) => setTimeout(resolve, 850)); // past any backoff: only the ceiling counts
      expect((await token({ grant_type: 'password', username: user.email, password: 'wrong password here' })).status).toBe(400);
    }
    const notice = await running.mailbox.nextMessageTo(user.email, before);
    expect(notice.raw).toContain('blocked');
    await new Promise((resolve) => setTimeout(resolve, 850));
    const refused = await token({ grant_type: 'password', username: user.email, password: PASSWORD });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
  });

  test('the per-IP rate limit answers 429 with Retry-After', async () => {
    let limited: Awaited<ReturnType<typeof token>> | undefined;
    // Windows are aligned to the clock: 100 tries (over twice the budget of 40) see a 429 even when the loop
    // straddles the start of a new window (a 60-try loop starting just before one could end with none).
    for (let request = 0; request < 100 && !limited; request += 1) {
      const response = await token({ grant_type: 'password', username: 'nobody@example.com', password: 'x' });
      if (response.status === 429) limited = response;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('/mfa/challenge has its own per-IP limit: 429 with Retry-After', async () => {
    // Exact counts: all five inside one clock-aligned window.
    await windowWithSecondsLeft(3600, 15);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let request = 0; request < 5; request += 1) {
      const response = await postForm(`${running.server.baseUrl}/mfa/challenge`, { mfa_token: 'not-a-token', channel: 'email' }, DEMO);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    expect(statuses).toEqual([400, 400, 400, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });
});

/**
 * Attempts sent at once must count like attempts sent one after another: each limit is reserved by one
 * conditional update before the password or code is checked (argon2 takes long enough for a burst to race).
 */
describe.each(STORE_KINDS)('concurrent sign-in attempts on the %s store (default throttle)', (storeKind) => {
  const FREE_FAILURES = BURST_FREE_FAILURES;
  const BURST = BURST_SIZE;
  const running = testServer({ store: storeKind, env: { ...BURST_THROTTLE_ENV, ARGON2_MEMORY_KIB: '19456' } });
  const token = (form: Record<string, string>) => postForm(`${running.server.baseUrl}/token`, form, DEMO);
  /** Ends every (account, IP) backoff now, rather than wait for it. */
  const endBackoffs = async () => {
    const throttle = running.server.store.collection<{ _id: string; blockedUntil?: Date }>('signin_throttle');
    for (const pair of await throttle.find({ blockedUntil: { $exists: true } })) {
      await throttle.updateOne({ _id: pair._id, blockedUntil: { $gt: new Date() } }, { $set: { blockedUntil: new Date(Date.now() - 1000) } });
    }
  };
  const reasons = async (accountId: string) =>
    (await running.server.application.audit.list({ accountId, limit: 500 })).map((event) => `${event.action}:${String(event.details?.reason ?? '')}`);

  test(`${BURST} wrong passwords at once from one address: at most SIGNIN_FREE_FAILURES + 1 are checked, the rest throttled alike`, async () => {
    const user = await newUser(running.server, { totp: false });
    const answers = await Promise.all(
      Array.from({ length: BURST }, (_, index) => token({ grant_type: 'password', username: user.email, password: `wrong password ${index}` })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(answers[0]?.body);
    }
    const events = await reasons(user.customerId);
    const checked = events.filter((event) => event === 'signin.failure:wrong_password').length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(FREE_FAILURES + 1);
    expect(events.filter((event) => event === 'signin.throttled:throttled')).toHaveLength(BURST - checked);
  });

  test(`${BURST} right passwords at once (an app's server signing one person in on several connections): every one gets its token`, async () => {
    const user = await newUser(running.server, { totp: false });
    const answers = await Promise.all(
      Array.from({ length: BURST }, () => token({ grant_type: 'password', username: user.email, password: PASSWORD, scope: 'api:read' })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: BURST }, () => 200));
  });

  test('the right password among a burst of wrong ones: no more checks than the backoff allows, and it works once the backoff is over', async () => {
    const user = await newUser(running.server, { totp: false });
    const forms = Array.from({ length: BURST }, (_, index) => ({
      grant_type: 'password',
      username: user.email,
      password: index === BURST / 2 ? PASSWORD : `wrong password ${index}`,
      scope: 'api:read',
    }));
    const answers = await Promise.all(forms.map((form) => token(form)));
    const refusals = answers.filter((answer) => answer.status !== 200);
    for (const refusal of refusals) expect(refusal).toMatchObject({ status: 400, body: refusals[0]?.body ?? {} });
    expect(refusals[0]?.body.error).toBe('invalid_grant');
    const events = await reasons(user.customerId);
    const checked = events.filter((event) => event === 'signin.failure:wrong_password' || event.startsWith('signin.success')).length;
    // As sequentially: at most the free failures and one more before the right password, and as many after it
    // (a success forgets the pair's failures).
    expect(checked).toBeLessThanOrEqual(2 * (FREE_FAILURES + 1));
    // Whatever the order the burst was served in, the owner gets in once the backoff it earned is over.
    await endBackoffs();
    expect((await token(forms[BURST / 2] ?? {})).status).toBe(200);
  });
});

describe('signed-webhook delivery channel', () => {
  const secret = 'a-webhook-secret-of-at-least-32-characters';
  const received: Array<{ body: string; signature: string }> = [];
  let answerStatus = 200;
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString(), signature: String(request.headers[WEBHOOK_SIGNATURE_HEADER]) });
      response.statusCode = answerStatus;
      response.end();
    });
  });
  let server: TestServer;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const address = receiver.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    server = await startTestServer({
      store: 'memory',
      env: { MFA_DELIVERY: 'webhook', DELIVERY_WEBHOOK_URL: `http://127.0.0.1:${port}/deliver`, DELIVERY_WEBHOOK_SECRET: secret },
    });
  });
  afterAll(async () => {
    await server.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test('the code arrives as a signed JSON POST and completes the mfa-otp grant; a failing gateway is 503, not 500', async () => {
    const user = await newUser(server);
    const first = await postForm(`${server.baseUrl}/token`, { grant_type: 'password', username: user.email, password: PASSWORD }, DEMO);
    const mfa = String(first.body.mfa_token);

    answerStatus = 500;
    const failed = await postForm(`${server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' }, DEMO);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('temporarily_unavailable');

    answerStatus = 200;
    const challenge = await postForm(`${server.baseUrl}/mfa/challenge`, { mfa_token: mfa, channel: 'email' }, DEMO);
    expect(challenge.status).toBe(200);
    const delivery = received.at(-1);
    const [timestamp] = /t=(\d+)/.exec(delivery?.signature ?? '')?.slice(1) ?? [];
    expect(delivery?.signature).toBe(signWebhookBody(secret, String(delivery?.body), Number(timestamp)));
    const payload = JSON.parse(String(delivery?.body)) as { account_id: string; text: string };
    expect(payload.account_id).toBe(user.customerId);
    const code = /code is (\d{6})/.exec(payload.text)?.[1];
    const response = await postForm(`${server.baseUrl}/token`, { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfa, otp: String(code) }, DEMO);
    expect(response.status).toBe(200);
  });
});

describe('JWT access tokens from the password grant', () => {
  const running = testServer({ store: 'memory', env: { ACCESS_TOKEN_FORMAT: 'jwt' } });

  test('carry amr, acr, roles and customer_id', async () => {
    const user = await newUser(running.server);
    const response = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'password', username: user.email, password: PASSWORD, otp: await totpCode(user), scope: 'api:read' },
      DEMO,
    );
    expect(response.status).toBe(200);
    const [, payload] = String(response.body.access_token).split('.');
    expect(JSON.parse(Buffer.from(String(payload), 'base64url').toString())).toMatchObject({
      sub: user.customerId,
      customer_id: user.customerId,
      roles: ['tester'],
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:authtoken:acr:mfa',
      scope: 'api:read',
    });
  });
});

describe('the demo user from the development seed', () => {
  const totpSecret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const running = testServer({ store: 'memory', env: { DEMO_TOTP_SECRET: totpSecret, DEMO_CUSTOMER_ID: 'C-demo-0001' } });

  test('demo@example.com / demo-password with a code from DEMO_TOTP_SECRET gets a token for demo-client', async () => {
    const response = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'password', username: 'demo@example.com', password: 'demo-password', otp: await generate({ secret: totpSecret }) },
      DEMO,
    );
    expect(response.status).toBe(200);
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(response.body.access_token) }, DEMO);
    expect(introspection.body).toMatchObject({ active: true, customer_id: 'C-demo-0001' });
    expect(running.server.logs.text).not.toContain(totpSecret);
  });
});
