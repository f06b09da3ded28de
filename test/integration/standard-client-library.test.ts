import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { csrfToken, formAction, PageClient, type PageResponse } from '../support/page-client.js';
import { DEMO, postForm, STORE_KINDS, testServer } from '../support/server.js';

const PASSWORD = 'a long passphrase for the library test';

/**
 * What openid-client throws for an OAuth error response: the error code and HTTP status it read. A 401 with a
 * WWW-Authenticate challenge (RFC 6749 5.2, for a client that authenticated with HTTP Basic) comes as a
 * challenge error; its error code is in the challenge's parameters.
 */
async function oauthError(attempt: Promise<unknown>): Promise<{ error: string; status: number; challenge?: string }> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return { error: error.error, status: error.status };
    if (error instanceof oidc.WWWAuthenticateChallengeError) {
      const [challenge] = error.cause;
      return { error: String(challenge?.parameters.error), status: error.status, challenge: challenge?.scheme };
    }
    throw error;
  }
  throw new Error('the request succeeded');
}

/**
 * Partners and first-party apps reach us through standard OAuth libraries, not hand-built requests. Here one
 * of the most used (openid-client, on oauth4webapi) drives every machine flow from discovery alone: client
 * credentials with each client authentication method we offer, DPoP, the password grant with refresh,
 * introspection, revocation, and the error responses it must understand.
 */
describe.each(STORE_KINDS)('machine flows through openid-client on the %s store', (storeKind) => {
  let basic: oidc.Configuration;
  const insecure = { execute: [oidc.allowInsecureRequests] };
  const discover = (clientId: string, auth: oidc.ClientAuth) => oidc.discovery(new URL(running.server.baseUrl), clientId, undefined, auth, insecure);

  const running = testServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  beforeAll(async () => {
    basic = await discover(DEMO.id, oidc.ClientSecretBasic(DEMO.secret));
  });

  test('client credentials with client_secret_basic and client_secret_post; introspection and revocation', async () => {
    const tokens = await oidc.clientCredentialsGrant(basic, { scope: 'api:read' });
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'api:read', expires_in: expect.any(Number) });
    expect(await oidc.tokenIntrospection(basic, tokens.access_token)).toMatchObject({
      active: true,
      client_id: DEMO.id,
      scope: 'api:read',
      aud: running.server.config.defaultResource,
    });
    await oidc.tokenRevocation(basic, tokens.access_token);
    expect((await oidc.tokenIntrospection(basic, tokens.access_token)).active).toBe(false);

    const post = await discover(DEMO.id, oidc.ClientSecretPost(DEMO.secret));
    expect((await oidc.clientCredentialsGrant(post, { scope: 'api:write' })).scope).toBe('api:write');
  });

  test('errors arrive as RFC 6749 errors the library reads: invalid_client, invalid_scope', async () => {
    const wrongSecret = await discover(DEMO.id, oidc.ClientSecretBasic('not-the-secret'));
    expect(await oauthError(oidc.clientCredentialsGrant(wrongSecret, { scope: 'api:read' }))).toEqual({ error: 'invalid_client', status: 401, challenge: 'basic' });
    expect(await oauthError(oidc.clientCredentialsGrant(basic, { scope: 'api:read admin:everything' }))).toEqual({ error: 'invalid_scope', status: 400 });
  });

  test('private_key_jwt with the assertion the library builds itself', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const created = await adminRequest(running.server.adminUrl ?? '', 'POST', '/clients', {
      body: {
        name: 'Library key partner',
        grant_types: ['client_credentials'],
        scopes: ['api:read'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'library-key', alg: 'ES256', use: 'sig' }] },
      },
    });
    expect(created.status).toBe(201);
    const clientId = String((created.body as { client_id: unknown }).client_id);
    const keyPartner = await discover(clientId, oidc.PrivateKeyJwt({ key: privateKey, kid: 'library-key' }));
    const tokens = await oidc.clientCredentialsGrant(keyPartner, { scope: 'api:read' });
    // A client introspects the tokens issued to it (see the introspection policy), here with its key.
    expect(await oidc.tokenIntrospection(keyPartner, tokens.access_token)).toMatchObject({ active: true, client_id: clientId });
  });

  test('DPoP through the library: the token is bound to its key, and introspection says so', async () => {
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const dpop = oidc.getDPoPHandle(basic, keyPair);
    const tokens = await oidc.clientCredentialsGrant(basic, { scope: 'api:read' }, { DPoP: dpop });
    expect(tokens.token_type).toBe('dpop');
    const introspection = await oidc.tokenIntrospection(basic, tokens.access_token);
    expect(introspection).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: expect.any(String) } });
  });

  test('the password grant with offline_access, then the refresh token, each through the library', async () => {
    const email = `library-${randomBytes(4).toString('hex')}@example.com`;
    await running.server.application.accounts.create({ email, password: PASSWORD });
    const tokens = await oidc.genericGrantRequest(basic, 'password', { username: email, password: PASSWORD, scope: 'api:read offline_access' });
    expect(tokens).toMatchObject({ token_type: 'bearer', refresh_token: expect.any(String) });
    const refreshed = await oidc.refreshTokenGrant(basic, String(tokens.refresh_token));
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(await oidc.tokenIntrospection(basic, refreshed.access_token)).toMatchObject({ active: true, client_id: DEMO.id, scope: expect.stringContaining('api:read') });
    expect(await oauthError(oidc.genericGrantRequest(basic, 'password', { username: email, password: 'not the password', scope: 'api:read' }))).toEqual({
      error: 'invalid_grant',
      status: 400,
    });
  });

  test('an account with a second factor: mfa_required reaches the app with its mfa_token, and the mfa-otp grant finishes', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const refusal = await oidc.genericGrantRequest(basic, 'password', { username: customer.email, password: customer.password, scope: 'api:read' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (!(refusal instanceof oidc.ResponseBodyError)) throw new Error(`expected mfa_required, got ${String(refusal)}`);
    expect({ error: refusal.error, status: refusal.status }).toEqual({ error: 'mfa_required', status: 403 });
    const mfaToken = String(refusal.cause.mfa_token);
    const tokens = await oidc.genericGrantRequest(basic, MFA_OTP_GRANT_TYPE, { mfa_token: mfaToken, otp: await totpCode(String(customer.totpSecret)) });
    expect(await oidc.tokenIntrospection(basic, tokens.access_token)).toMatchObject({ active: true, sub: customer.customerId, acr: 'urn:authtoken:acr:mfa' });
  });
});

/**
 * A desktop or command-line app (RFC 8252) signs in the way golang.org/x/oauth2-based CLIs, gcloud or rclone
 * do: it listens on a free loopback port the system picks, and sends that port in redirect_uri. Registered as
 * application_type native with http://127.0.0.1/callback, it gets the code at the exact URI it sent, port
 * included (RFC 8252 7.3), and exchanges it with that same redirect_uri; nothing else about the URI may vary.
 */
describe.each(STORE_KINDS)('a native app (RFC 8252) through openid-client on the %s store', (storeKind) => {
  const REGISTERED = 'http://127.0.0.1/callback';
  const LISTENING = 'http://127.0.0.1:54321/callback';
  let person: Customer;
  const insecure = { execute: [oidc.allowInsecureRequests] };

  const register = async (body: Record<string, unknown>): Promise<string> => {
    const created = await adminRequest(String(running.server.adminUrl), 'POST', '/clients', {
      body: { grant_types: ['authorization_code', 'refresh_token'], scopes: ['openid', 'api:read'], redirect_uris: [REGISTERED], ...body },
    });
    expect(created.status).toBe(201);
    return String((created.body as Record<string, unknown>).client_id);
  };

  /** The authorization request of a public client with PKCE, as the library builds it. */
  async function authorizationRequest(clientId: string, redirectUri: string) {
    const config = await oidc.discovery(new URL(running.server.baseUrl), clientId, undefined, oidc.None(), insecure);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid api:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    return { config, verifier, state, url };
  }

  /** Submits the page's form without following redirects: the last one goes to the app, which is not listening. */
  function submit(browser: PageClient, page: PageResponse, action: RegExp, fields: Record<string, string>): Promise<PageResponse> {
    const target = formAction(page.html, action);
    return browser.request(new URL(target, page.url).toString(), { form: { csrf: csrfToken(page.html, target), ...fields } });
  }

  /** Walks our pages (login, consent) until the provider redirects to the app; returns that Location. */
  async function signInThrough(browser: PageClient, url: URL, redirectUri: string, pagesSeen: string[] = []): Promise<URL> {
    let page: PageResponse = await browser.request(url.toString());
    for (let hop = 0; hop < 12; hop += 1) {
      if (page.location?.startsWith(redirectUri)) return new URL(page.location);
      if (page.location) {
        page = await browser.request(new URL(page.location, page.url).toString());
      } else if (/action="\/interaction\/[^"/]+\/login"/.test(page.html)) {
        pagesSeen.push('login');
        page = await submit(browser, page, /\/login$/, { username: person.email, password: person.password });
      } else if (/action="\/interaction\/[^"/]+\/consent"/.test(page.html)) {
        pagesSeen.push(`consent: ${[...page.html.matchAll(/<code>([^<]+)<\/code>/g)].map((match) => match[1]).join(' ')}`);
        page = await submit(browser, page, /\/consent$/, { decision: 'allow' });
      } else {
        break;
      }
    }
    throw new Error(`the sign-in stopped at ${page.url} (${page.status}):\n${page.html.slice(0, 1500)}`);
  }

  /** What /auth answers a redirect_uri it does not accept: an error page, never a redirect to that URI. */
  async function refusedAtAuthorization(clientId: string, redirectUri: string): Promise<{ status: number; location: string | undefined; redirectMismatch: boolean }> {
    const { url } = await authorizationRequest(clientId, redirectUri);
    const page = await new PageClient(running.server.baseUrl).request(url.toString());
    return { status: page.status, location: page.location, redirectMismatch: page.html.includes('redirect_uri did not match') };
  }

  const running = testServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  beforeAll(async () => {
    person = await createCustomer(running.server, { totp: false });
  });

  test('signs in on a loopback port other than the registered one; the code is redeemed only with the redirect_uri sent to /auth', async () => {
    const clientId = await register({ name: 'Desktop CLI', application_type: 'native' });
    const { config, verifier, state, url } = await authorizationRequest(clientId, LISTENING);
    const browser = new PageClient(running.server.baseUrl);
    const callback = await signInThrough(browser, url, LISTENING);
    expect(`${callback.origin}${callback.pathname}`).toBe(LISTENING);
    expect(callback.searchParams.get('state')).toBe(state);
    const code = String(callback.searchParams.get('code'));

    // The token endpoint still compares redirect_uri exactly with the one the code was issued for (RFC 6749 4.1.3).
    for (const redirectUri of [REGISTERED, 'http://127.0.0.1:54322/callback']) {
      const wrong = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier });
      expect({ redirectUri, status: wrong.status, error: wrong.body.error }).toEqual({ redirectUri, status: 400, error: 'invalid_grant' });
    }
    // The library sends the callback's own URI (port included) as redirect_uri, and a public client sends no secret.
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), id_token: expect.any(String) });
    expect(tokens.claims()).toMatchObject({ sub: person.customerId, aud: clientId });

    // RFC 8252 8.6: nothing proves which app holds a native client id, so every authorization asks the person.
    const pagesSeen: string[] = [];
    await signInThrough(browser, (await authorizationRequest(clientId, LISTENING)).url, LISTENING, pagesSeen);
    // The page lists what the app asks for again, though its grant already holds it.
    expect(pagesSeen).toEqual(['consent: openid api:read']);
  });

  test('a native app may change only the port of a loopback redirect URI; a web app with the same URI may change nothing', async () => {
    const native = await register({ name: 'Native', application_type: 'native' });
    for (const redirectUri of ['http://127.0.0.1:54321/other', 'http://[::1]:54321/callback', 'http://localhost:54321/callback', 'http://127.0.0.2:54321/callback']) {
      expect({ redirectUri, ...(await refusedAtAuthorization(native, redirectUri)) }).toEqual({ redirectUri, status: 400, location: undefined, redirectMismatch: true });
    }

    const web = await register({ name: 'Web', token_endpoint_auth_method: 'none' });
    expect({ ...(await refusedAtAuthorization(web, LISTENING)) }).toEqual({ status: 400, location: undefined, redirectMismatch: true });
    // The registered URI itself is accepted, so the refusal above is about the port.
    expect((await refusedAtAuthorization(web, REGISTERED)).status).toBe(303);
  });
});
