import { createHash, randomBytes } from 'node:crypto';

import { generateSecret } from 'otplib';

import { ACR_MFA } from '../../src/mfa/index.js';
import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { DEMO_APP_CALLBACK, demoAppAuthorizationUrl, followToDemoApp, submitToDemoApp } from '../support/demo-app.js';
import { PageClient, type PageResponse } from '../support/page-client.js';
import { DEMO, postForm, STORE_KINDS, testServer } from '../support/server.js';

/**
 * A second factor is asked for at sign-in. What a password-only sign-in left behind (a refresh token, a
 * provider session) must not go on turning into tokens once a second factor is needed: the person enrolled
 * one since, an operator or REQUIRE_MFA demands one, or the client now requires one. RFC 9700 2.2.2 / the
 * design's "MFA enforced where tokens are issued": the refresh grant and /auth check again.
 */
describe.each(STORE_KINDS)('password-only sign-ins made before a second factor was needed (%s store)', (storeKind) => {
  // No client cache: a changed client's mfa_required is seen at once.
  const running = testServer({ store: storeKind, env: { CLIENT_CACHE_TTL_MS: '0' } });

  async function passwordOnlyRefreshToken(customer: Customer): Promise<string> {
    const granted = await postForm(
      `${running.server.baseUrl}/token`,
      { grant_type: 'password', username: customer.email, password: customer.password, scope: 'openid offline_access api:read' },
      DEMO,
    );
    expect(granted.status).toBe(200);
    return String(granted.body.refresh_token);
  }

  const refresh = (refreshToken: string) => postForm(`${running.server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, DEMO);

  test('a refresh token from before the account enrolled an authenticator app issues nothing more', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const refreshToken = await passwordOnlyRefreshToken(customer);
    await running.server.application.mfa.totp.install(customer.customerId, generateSecret());

    const refused = await refresh(refreshToken);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    expect(refused.body.access_token).toBeUndefined();
    // Revoked, not only refused: removing the factor again does not bring the token back.
    await running.server.application.mfa.removeTotp(customer.customerId);
    expect((await refresh(refreshToken)).body.error).toBe('invalid_grant');
  });

  test('a refresh token from before an operator required a second factor issues nothing more', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const refreshToken = await passwordOnlyRefreshToken(customer);
    await running.server.application.accounts.requireMfaEnrollment(customer.customerId, true);

    const refused = await refresh(refreshToken);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
  });

  test('a refresh token from before the client required a second factor issues nothing more', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const refreshToken = await passwordOnlyRefreshToken(customer);
    await running.server.application.clients.update(DEMO.id, { mfaRequired: true });
    try {
      const refused = await refresh(refreshToken);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
    } finally {
      await running.server.application.clients.update(DEMO.id, { mfaRequired: false });
    }
  });

  test('refresh tokens still refresh: password-only ones while no factor is needed, and ones made with the second factor', async () => {
    const withoutFactor = await createCustomer(running.server, { totp: false });
    const passwordOnly = await refresh(await passwordOnlyRefreshToken(withoutFactor));
    expect(passwordOnly.status).toBe(200);

    const withFactor = await createCustomer(running.server, { totp: true });
    const granted = await postForm(
      `${running.server.baseUrl}/token`,
      {
        grant_type: 'password',
        username: withFactor.email,
        password: withFactor.password,
        otp: await totpCode(withFactor.totpSecret ?? ''),
        scope: 'openid offline_access api:read',
      },
      DEMO,
    );
    expect(granted.status).toBe(200);
    const refreshed = await refresh(String(granted.body.refresh_token));
    expect(refreshed.status).toBe(200);
    const claims = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(refreshed.body.access_token) }, DEMO);
    expect(claims.body.acr).toBe(ACR_MFA);
  });

  /** Signs in to demo-app with the password alone (the account has no factor), through consent, to its code. */
  async function signInWithPasswordOnly(client: PageClient, customer: Customer): Promise<void> {
    const { page: login } = await followToDemoApp(client, await client.request(demoAppAuthorizationUrl(running.server.baseUrl)));
    const signedIn = await submitToDemoApp(client, login, /\/login$/, { username: customer.email, password: customer.password });
    const { callback } = signedIn.callback ? signedIn : await submitToDemoApp(client, signedIn.page, /\/consent$/, { decision: 'allow' });
    expect(callback?.searchParams.get('code')).toBeTruthy();
  }

  async function authorizeAgain(client: PageClient, extra: Record<string, string> = {}): Promise<{ page: PageResponse; callback?: URL }> {
    return followToDemoApp(client, await client.request(demoAppAuthorizationUrl(running.server.baseUrl, DEMO_APP_CALLBACK, extra)));
  }

  test('a sign-in session from before the account enrolled a factor gets no code without it', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInWithPasswordOnly(client, customer);
    const secret = generateSecret();
    await running.server.application.mfa.totp.install(customer.customerId, secret);

    const silent = await authorizeAgain(client, { prompt: 'none' });
    expect(silent.callback?.searchParams.get('code')).toBeNull();
    expect(silent.callback?.searchParams.get('error')).toBe('login_required');

    // Interactively, the step-up asks for the code (not the password again), and then the code is issued.
    const stepUp = await authorizeAgain(client);
    expect(stepUp.callback).toBeUndefined();
    expect(stepUp.page.html).toContain('Verify it is you');
    const { callback } = await submitToDemoApp(client, stepUp.page, /\/mfa$/, { method: 'totp', code: await totpCode(secret) });
    expect(callback?.searchParams.get('code')).toBeTruthy();
  });

  test('a sign-in session from before an operator required a factor gets no code until one is enrolled', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInWithPasswordOnly(client, customer);
    await running.server.application.accounts.requireMfaEnrollment(customer.customerId, true);

    const silent = await authorizeAgain(client, { prompt: 'none' });
    expect(silent.callback?.searchParams.get('code')).toBeNull();
    expect(silent.callback?.searchParams.get('error')).toBe('login_required');

    const stepUp = await authorizeAgain(client);
    expect(stepUp.callback).toBeUndefined();
    expect(stepUp.page.html).toContain('Enter your password to set up two-step verification.');
  });

  /** A code from a password-only sign-in to demo-app (a public client), and the PKCE verifier that redeems it. */
  async function passwordOnlyCode(customer: Customer): Promise<{ code: string; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const client = new PageClient(running.server.baseUrl);
    const { page: login } = await followToDemoApp(
      client,
      await client.request(demoAppAuthorizationUrl(running.server.baseUrl, DEMO_APP_CALLBACK, { code_challenge: challenge, scope: 'openid offline_access' })),
    );
    const signedIn = await submitToDemoApp(client, login, /\/login$/, { username: customer.email, password: customer.password });
    const { callback } = signedIn.callback ? signedIn : await submitToDemoApp(client, signedIn.page, /\/consent$/, { decision: 'allow' });
    const code = callback?.searchParams.get('code');
    if (!code) throw new Error('no code');
    return { code, verifier };
  }

  const redeem = ({ code, verifier }: { code: string; verifier: string }) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'authorization_code', client_id: 'demo-app', code, code_verifier: verifier, redirect_uri: DEMO_APP_CALLBACK });

  test('a code from a password-only sign-in, redeemed after the account enrolled a factor, issues nothing', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const issued = await passwordOnlyCode(customer);
    await running.server.application.mfa.totp.install(customer.customerId, generateSecret());

    const refused = await redeem(issued);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    expect(refused.body.access_token).toBeUndefined();
  });

  test('a code from a password-only sign-in with no factor needed is redeemed as before', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const redeemed = await redeem(await passwordOnlyCode(customer));
    expect(redeemed.status).toBe(200);
    expect(typeof redeemed.body.access_token).toBe('string');
  });

  test('a password-only session with no factor needed still signs in silently', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const client = new PageClient(running.server.baseUrl);
    await signInWithPasswordOnly(client, customer);
    const silent = await authorizeAgain(client, { prompt: 'none' });
    expect(silent.callback?.searchParams.get('code')).toBeTruthy();
  });
});
