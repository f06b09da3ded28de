import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { createCustomer, totpCode } from '../support/dashboard.js';
import { DEMO, startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';

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
  let server: TestServer;
  let basic: oidc.Configuration;
  const insecure = { execute: [oidc.allowInsecureRequests] };
  const discover = (clientId: string, auth: oidc.ClientAuth) => oidc.discovery(new URL(server.baseUrl), clientId, undefined, auth, insecure);

  beforeAll(async () => {
    server = await startTestServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
    basic = await discover(DEMO.id, oidc.ClientSecretBasic(DEMO.secret));
  });
  afterAll(async () => {
    await server?.close();
  });

  test('client credentials with client_secret_basic and client_secret_post; introspection and revocation', async () => {
    const tokens = await oidc.clientCredentialsGrant(basic, { scope: 'api:read' });
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'api:read', expires_in: expect.any(Number) });
    expect(await oidc.tokenIntrospection(basic, tokens.access_token)).toMatchObject({
      active: true,
      client_id: DEMO.id,
      scope: 'api:read',
      aud: server.config.defaultResource,
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
    const created = await adminRequest(server.adminUrl ?? '', 'POST', '/clients', {
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
    await server.application.accounts.create({ email, password: PASSWORD });
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
    const customer = await createCustomer(server, { totp: true });
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
