import { randomBytes } from 'node:crypto';

import { jest } from '@jest/globals';

import { generate, generateSecret } from 'otplib';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { DEMO, postForm, STORE_KINDS, type TestServer, testServer } from '../support/server.js';
import { BURST_FREE_FAILURES, BURST_SIZE, BURST_THROTTLE_ENV } from '../support/burst.js';

const PASSWORD = 'correct horse battery staple';
const KEY = Buffer.from(PASSWORD).toString('base64');
const PATH = '/auth/v1/authentication/token';

interface TestUser {
  email: string;
  customerId: string;
  totpSecret: string | undefined;
}

async function newUser(server: TestServer, options: { totp: boolean; countryCode?: string }): Promise<TestUser> {
  const email = `user-${randomBytes(4).toString('hex')}@example.com`;
  const account = await server.application.accounts.create({
    email,
    password: PASSWORD,
    roles: ['tester'],
    ...(options.countryCode ? { countryCode: options.countryCode } : {}),
  });
  const totpSecret = options.totp ? generateSecret() : undefined;
  if (totpSecret) await server.application.mfa.totp.install(account.customerId, totpSecret);
  return { email, customerId: account.customerId, totpSecret };
}

const totpCode = (user: TestUser) => generate({ secret: user.totpSecret ?? '', epoch: Math.floor(Date.now() / 1000) });

interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function callApi(server: TestServer, parameters: Record<string, string>, as: 'form' | 'json' = 'form'): Promise<ApiAnswer> {
  const response = await fetch(`${server.baseUrl}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': as === 'form' ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: as === 'form' ? new URLSearchParams(parameters).toString() : JSON.stringify(parameters),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

const credentials = (user: TestUser, extra: Record<string, string> = {}) => ({
  customerId: user.customerId,
  key: KEY,
  email: user.email,
  country: 'DE',
  scope: 'api:read',
  ...extra,
});

/** oidc-provider's console warnings while this file runs (passed through to the console as well). */
const providerWarnings: string[] = [];
const consoleWarn = console.warn.bind(console);
beforeAll(() => {
  jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    providerWarnings.push(args.map(String).join(' '));
    consoleWarn(...args);
  });
});
afterAll(() => {
  jest.restoreAllMocks();
});

describe.each(STORE_KINDS)('Generate Token API on the %s store', (storeKind) => {

  const running = testServer({ store: storeKind, env: { SIGNIN_FREE_FAILURES: '50', ARGON2_MEMORY_KIB: '19456' } });

  test('form POST: an account without MFA gets an ordinary AuthToken of the internal client, scoped as asked', async () => {
    const user = await newUser(running.server, { totp: false });
    const answer = await callApi(running.server, credentials(user));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 200, scope: 'api:read' });
    expect(typeof answer.body.token).toBe('string');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const stored = await running.server.application.provider.AccessToken.find(String(answer.body.token));
    expect(stored).toMatchObject({ clientId: 'authtoken-compat', accountId: user.customerId, scope: 'api:read' });
  });

  test('JSON POST works the same, and the email is compared without regard to case', async () => {
    const user = await newUser(running.server, { totp: false });
    const answer = await callApi(running.server, credentials(user, { email: user.email.toUpperCase() }), 'json');
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe(200);
  });

  test.each([
    ['customerId missing', { customerId: '' }, /customerId/],
    ['key missing', { key: '' }, /key/],
    ['key not base64', { key: 'not base64!' }, /key/],
    ['key base64 of bytes that are not UTF-8', { key: Buffer.from([0xff, 0xfe, 0xfd]).toString('base64') }, /key/],
    ['email not an email', { email: 'nobody' }, /email/],
    ['country not a two-letter code', { country: 'Germany' }, /country/],
    ['scope missing', { scope: '' }, /scope/],
    ['otp not digits', { otp: 'abcdef' }, /otp/],
  ])('400 when %s', async (_label, override, message) => {
    const user = await newUser(running.server, { totp: false });
    const answer = await callApi(running.server, { ...credentials(user), ...override });
    expect(answer.status).toBe(400);
    expect(answer.body.status).toBe(400);
    expect(String(answer.body.message)).toMatch(message);
    expect(answer.body.token).toBeUndefined();
  });

  // The API's callers read its own envelope; a body they got wrong must not switch them to another shape.
  test.each([
    ['malformed JSON', { 'content-type': 'application/json' }, '{"customerId": ', 400],
    ['JSON that is not an object', { 'content-type': 'application/json' }, 'null', 400],
    ['bytes that do not match their Content-Encoding', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}', 400],
    ['an unknown Content-Encoding', { 'content-type': 'application/json', 'content-encoding': 'zstd-ish' }, '{}', 415],
    ['a body over the 56 KiB limit', { 'content-type': 'application/json' }, JSON.stringify({ scope: 'x'.repeat(70 * 1024) }), 413],
  ])('%s is answered in the API envelope, {status, message}', async (_label, headers, body, status) => {
    const response = await fetch(`${running.server.baseUrl}${PATH}`, { method: 'POST', headers, body });
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer).toEqual({ status, message: expect.any(String) });
  });

  test('400 for a scope the API does not offer', async () => {
    const user = await newUser(running.server, { totp: false });
    const answer = await callApi(running.server, credentials(user, { scope: 'admin:everything' }));
    expect(answer.status).toBe(400);
    expect(answer.body.status).toBe(400);
  });

  test('401, one answer: wrong password, unknown customer, email or country not the customer’s', async () => {
    const user = await newUser(running.server, { totp: false, countryCode: 'FR' });
    const answers = await Promise.all([
      callApi(running.server, credentials(user, { key: Buffer.from('wrong password').toString('base64'), country: 'FR' })),
      callApi(running.server, credentials(user, { customerId: 'C-doesnotexist', country: 'FR' })),
      callApi(running.server, credentials(user, { email: 'someone-else@example.com', country: 'FR' })),
      callApi(running.server, credentials(user, { country: 'DE' })),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ status: 401, message: 'invalid credentials' });
    }
    expect((await callApi(running.server, credentials(user, { country: 'fr' }))).status).toBe(200);
  });

  test('MFA in two steps: 403 mfa_required with an mfa_token, then the mfa-otp step with a TOTP code', async () => {
    const user = await newUser(running.server, { totp: true });
    const first = await callApi(running.server, credentials(user));
    expect(first.status).toBe(403);
    expect(first.body).toMatchObject({ status: 403, message: 'mfa_required', mfa_methods: expect.arrayContaining(['totp']) });
    const mfaToken = String(first.body.mfa_token);

    // The mfa_token is bound to the internal client: no other client can spend it at /token.
    const elsewhere = await postForm(`${running.server.baseUrl}/token`, { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfaToken, otp: await totpCode(user) }, DEMO);
    expect(elsewhere.body).toMatchObject({ error: "invalid_grant" });
    expect(elsewhere.status).toBe(400);

    const wrong = await callApi(running.server, { mfa_token: mfaToken, otp: '000000' });
    expect(wrong.status).toBe(401);
    const second = await callApi(running.server, { mfa_token: mfaToken, otp: await totpCode(user) });
    expect(second.status).toBe(200);
    const stored = await running.server.application.provider.AccessToken.find(String(second.body.token));
    expect(stored).toMatchObject({ clientId: 'authtoken-compat', accountId: user.customerId });
    // Spent: the same mfa_token does not give a second token.
    expect((await callApi(running.server, { mfaToken, otp: await totpCode(user) })).status).toBe(401);
  });

  test('MFA in one request: otp beside the key', async () => {
    const user = await newUser(running.server, { totp: true });
    const answer = await callApi(running.server, credentials(user, { otp: await totpCode(user) }));
    expect(answer.status).toBe(200);
    expect(typeof answer.body.token).toBe('string');
  });

  test('400 for a second step without a code', async () => {
    const answer = await callApi(running.server, { mfaToken: 'anything' });
    expect(answer.status).toBe(400);
    expect(String(answer.body.message)).toMatch(/otp|recoveryCode/);
  });

  test('GET is refused (405) unless COMPAT_TOKEN_GET is on', async () => {
    const user = await newUser(running.server, { totp: false });
    const response = await fetch(`${running.server.baseUrl}${PATH}?${new URLSearchParams(credentials(user)).toString()}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(((await response.json()) as { status: number }).status).toBe(405);
  });

  // Runs after this block's API calls: the provider warns once per process, at the first in-process
  // token request that hands it a parsed body instead of an unread one.
  test('the token request reaches oidc-provider as an unread form body: no parsed-body fallback warning', () => {
    expect(providerWarnings.filter((warning) => warning.includes('already parsed request body'))).toEqual([]);
  });
});

describe('Generate Token API: throttling, rate limit and the deprecated GET', () => {

  const running = testServer({
      store: 'memory',
      env: { SIGNIN_FREE_FAILURES: '1', RATE_LIMIT_PASSWORD_GRANT: '12', RATE_LIMIT_WINDOW_SECONDS: '3600', COMPAT_TOKEN_GET: 'true', ARGON2_MEMORY_KIB: '19456' },
    });

  test('GET with query parameters works when enabled, is logged as deprecated, and the key is in no log line', async () => {
    const user = await newUser(running.server, { totp: false });
    const response = await fetch(`${running.server.baseUrl}${PATH}?${new URLSearchParams(credentials(user)).toString()}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string };
    expect(running.server.logs.text).toMatch(/deprecated: Generate Token API called with GET/);
    expect(running.server.logs.text).not.toContain(KEY);
    expect(running.server.logs.text).not.toContain(encodeURIComponent(KEY));
    expect(running.server.logs.text).not.toContain(PASSWORD);
    expect(running.server.logs.text).not.toContain(body.token);
    // Allow follows the route table: GET (and so HEAD) is served now.
    const other = await fetch(`${running.server.baseUrl}${PATH}`, { method: 'DELETE' });
    expect(other.status).toBe(405);
    expect(other.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(await other.json()).toEqual({ status: 405, message: expect.any(String) });
  });

  test('a throttled account is answered exactly like bad credentials, even with the right key', async () => {
    const user = await newUser(running.server, { totp: false });
    const wrong = credentials(user, { key: Buffer.from('wrong password').toString('base64') });
    expect((await callApi(running.server, wrong)).status).toBe(401);
    expect((await callApi(running.server, wrong)).status).toBe(401); // past the free failure: this address is now backed off
    const right = await callApi(running.server, credentials(user));
    expect(right.status).toBe(401);
    expect(right.body).toEqual({ status: 401, message: 'invalid credentials' });
  });

  test('429 with Retry-After once this address spent the budget it shares with the password grant', async () => {
    // Spend part of the budget at /token with the password grant: the two count against the same limit.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: 'nobody@example.com', password: 'x' }, DEMO);
    }
    let answer: ApiAnswer | undefined;
    for (let attempt = 0; attempt < 15 && answer?.status !== 429; attempt += 1) {
      answer = await callApi(running.server, { customerId: 'C-nobody', key: KEY, email: 'nobody@example.com', country: 'DE', scope: 'api:read' });
    }
    expect(answer?.status).toBe(429);
    expect(answer?.body).toEqual({ status: 429, message: 'too many requests; retry later' });
    expect(Number(answer?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

/**
 * An email or country that is not the customer's is a failed sign-in like a wrong password: the same argon2
 * work (timing is measured outside the suite, not asserted), counted by the sign-in throttle and by the per-IP
 * limit the API shares with the password grant.
 */
describe.each(STORE_KINDS)('Generate Token API: an identity mismatch counts like a wrong password (%s store)', (storeKind) => {
  const RATE_LIMIT = 6;

  const running = testServer({
      store: storeKind,
      env: { SIGNIN_FREE_FAILURES: '1', RATE_LIMIT_PASSWORD_GRANT: String(RATE_LIMIT), RATE_LIMIT_WINDOW_SECONDS: '3600', ARGON2_MEMORY_KIB: '19456' },
    });

  test('mismatched emails and countries back the (account, IP) pair off: then even the right identity and key get 401', async () => {
    const user = await newUser(running.server, { totp: false, countryCode: 'FR' });
    expect((await callApi(running.server, credentials(user, { email: 'someone-else@example.com', country: 'FR' }))).status).toBe(401);
    expect((await callApi(running.server, credentials(user, { country: 'DE' }))).status).toBe(401); // past the free failure
    const right = await callApi(running.server, credentials(user, { country: 'FR' }));
    expect(right.status).toBe(401);
    expect(right.body).toEqual({ status: 401, message: 'invalid credentials' });
    const failures = await running.server.application.audit.list({ accountId: user.customerId, action: 'signin.failure' });
    expect(failures.map((event) => event.details?.reason)).toEqual(expect.arrayContaining(['email_mismatch', 'country_mismatch']));
    expect(await running.server.application.audit.list({ accountId: user.customerId, action: 'signin.throttled' })).toHaveLength(1);
  });

  test('mismatched emails spend the per-IP budget: 429 with Retry-After once it is spent', async () => {
    const answers: ApiAnswer[] = [];
    // Bounded at twice the budget and one: the budget is partly spent by earlier tests, and a window starting
    // mid-loop (windows start on the clock) hands out a fresh one.
    for (let attempt = 0; attempt <= 2 * RATE_LIMIT && answers.at(-1)?.status !== 429; attempt += 1) {
      const user = await newUser(running.server, { totp: false });
      answers.push(await callApi(running.server, credentials(user, { email: 'someone-else@example.com' })));
    }
    expect(answers.at(-1)?.status).toBe(429);
    expect(Number(answers.at(-1)?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answers.slice(0, -1).every((answer) => answer.status === 401)).toBe(true);
  });
});

describe.each(STORE_KINDS)('Generate Token API: concurrent wrong keys count like sequential ones (%s store)', (storeKind) => {
  const FREE_FAILURES = BURST_FREE_FAILURES;
  const BURST = BURST_SIZE;

  const running = testServer({ store: storeKind, env: { ...BURST_THROTTLE_ENV, ARGON2_MEMORY_KIB: '19456' } });

  test(`${BURST} wrong keys at once for one customer: at most SIGNIN_FREE_FAILURES + 1 are checked, every answer the same 401`, async () => {
    const user = await newUser(running.server, { totp: false });
    const answers = await Promise.all(
      Array.from({ length: BURST }, (_, index) => callApi(running.server, credentials(user, { key: Buffer.from(`wrong password ${index}`).toString('base64') }))),
    );
    for (const answer of answers) expect(answer).toMatchObject({ status: 401, body: { status: 401, message: 'invalid credentials' } });
    const failures = await running.server.application.audit.list({ accountId: user.customerId, action: 'signin.failure', limit: 500 });
    const checked = failures.filter((event) => event.details?.reason === 'wrong_password').length;
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(FREE_FAILURES + 1);
    expect(await running.server.application.audit.list({ accountId: user.customerId, action: 'signin.throttled', limit: 500 })).toHaveLength(BURST - checked);
  });
});

describe('Generate Token API turned off (COMPAT_TOKEN_API=false)', () => {
  const running = testServer({ store: 'memory', env: { COMPAT_TOKEN_API: 'false', ARGON2_MEMORY_KIB: '19456' } });

  test('answers 404 with the right credentials, and the password grant of other clients still works', async () => {
    const user = await newUser(running.server, { totp: false });
    const answer = await callApi(running.server, credentials(user));
    expect(answer.status).toBe(404);
    expect(answer.body.token).toBeUndefined();
    const grant = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'api:read' }, DEMO);
    expect(grant.status).toBe(200);
  });
});
