import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { errorOf, interopClient, runInteropClient, tokenOf } from '../support/interop.js';
import { postForm, startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';

const PROGRAM = new URL('../interop/python/interop.py', import.meta.url).pathname;

interface TokenFindings {
  access_token: string;
  token_type: string;
  refresh_token: string | null;
  scope: string | null;
  expires_in: number | null;
  has_expires_at: boolean;
  is_expired: boolean;
}
interface ErrorFindings {
  oauth_error: boolean;
  error?: string;
  description?: string;
  type?: string;
  message?: string;
}

/**
 * Python partners and apps reach us through authlib. A small script (test/interop/python, its packages pinned
 * by exact version) drives our real server through it from discovery alone: client credentials with
 * client_secret_basic, client_secret_post and private_key_jwt (the assertion authlib signs), RFC 7662/7009
 * through the library, the password grant and both ways it refreshes, and the errors as its OAuthError. It
 * prints what the library saw; here we check that, and what the server says of the tokens it got.
 */
describe.each(STORE_KINDS)('authlib against the server on the %s store', (storeKind) => {
  let server: TestServer;
  let client: { id: string; secret: string };
  let keyClientId: string;
  let user: Customer;
  let mfaUser: Customer;
  let findings: Record<string, unknown>;

  const introspect = async (token: string) => (await postForm(`${server.baseUrl}/token/introspection`, { token }, client)).body;

  beforeAll(async () => {
    const python = interopClient('python');
    server = await startTestServer({ store: storeKind });
    const created = await server.application.clients.create({
      name: 'Python partner',
      grantTypes: ['client_credentials', 'password', 'refresh_token'],
      scopes: ['api:read', 'api:write', 'offline_access'],
      passwordGrant: true,
    });
    client = { id: created.clientId, secret: String(created.clientSecret) };
    // authlib's PrivateKeyJWT signs with RS256 unless told otherwise, from a PEM private key.
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const keyClient = await server.application.clients.create({
      name: 'Python key partner',
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
      authMethod: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'authlib-key', alg: 'RS256', use: 'sig' }] },
    });
    keyClientId = keyClient.clientId;
    user = await createCustomer(server, { totp: false });
    mfaUser = await createCustomer(server, { totp: true });
    findings = await runInteropClient(python, [PROGRAM], {
      // authlib refuses plain http unless told it is a development setup: the test server is http on 127.0.0.1.
      AUTHLIB_INSECURE_TRANSPORT: '1',
      INTEROP_ISSUER: server.baseUrl,
      INTEROP_CLIENT_ID: client.id,
      INTEROP_CLIENT_SECRET: client.secret,
      INTEROP_SCOPE: 'api:read api:write',
      INTEROP_REFUSED_SCOPE: 'admin:everything',
      INTEROP_KEY_CLIENT_ID: keyClientId,
      INTEROP_KEY_CLIENT_PRIVATE_KEY: await exportPKCS8(privateKey),
      INTEROP_USER: user.email,
      INTEROP_PASSWORD: user.password,
      INTEROP_MFA_USER: mfaUser.email,
      INTEROP_MFA_PASSWORD: mfaUser.password,
    });
  }, 600_000);
  afterAll(async () => {
    await server?.close();
  });

  test('discovery: the document passes authlib\'s RFC 8414 / OpenID discovery validation, and names our endpoints', () => {
    expect(findings.discovery).toEqual({ valid: true });
    expect(findings.endpoints).toEqual({
      issuer: server.baseUrl,
      token: `${server.baseUrl}/token`,
      introspection: `${server.baseUrl}/token/introspection`,
      revocation: `${server.baseUrl}/token/revocation`,
    });
  });

  test('client credentials with client_secret_basic and client_secret_post', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const token = tokenOf<TokenFindings>(findings[method]);
      expect({ method, ...token }).toMatchObject({ method, token_type: 'Bearer', scope: 'api:read api:write', has_expires_at: true, is_expired: false });
    }
    // The basic one was revoked through the library (below); the post one is still good.
    expect(await introspect(tokenOf<TokenFindings>(findings.client_secret_post).access_token)).toMatchObject({ active: true, client_id: client.id, scope: 'api:read api:write' });
  });

  test('introspect_token and revoke_token (RFC 7662, RFC 7009) through the library; introspection then says inactive', async () => {
    expect(findings.introspected).toMatchObject({ status: 200, body: { active: true, client_id: client.id, scope: 'api:read api:write', aud: server.config.defaultResource } });
    expect(findings.revoked).toMatchObject({ status: 200 });
    expect(findings.introspected_after_revocation).toEqual({ status: 200, body: { active: false } });
    expect(await introspect(tokenOf<TokenFindings>(findings.client_secret_basic).access_token)).toEqual({ active: false });
  });

  test('private_key_jwt with the client assertion authlib signs', async () => {
    const token = tokenOf<TokenFindings>(findings.private_key_jwt);
    expect(token.scope).toBe('api:read');
    // The key client introspects its own token, authenticating with a fresh assertion.
    expect(findings.private_key_jwt_introspected).toMatchObject({ status: 200, body: { active: true, client_id: keyClientId, scope: 'api:read' } });
  });

  test('the password grant, refresh_token, and the refresh authlib does itself once the token has expired', async () => {
    const signedIn = tokenOf<TokenFindings>(findings.password);
    const refreshed = tokenOf<TokenFindings>(findings.refreshed);
    const refreshedAgain = tokenOf<TokenFindings>(findings.refreshed_when_expired);
    expect(signedIn.refresh_token).toEqual(expect.any(String));
    const accessTokens = new Set([signedIn.access_token, refreshed.access_token, refreshedAgain.access_token]);
    const refreshTokens = new Set([signedIn.refresh_token, refreshed.refresh_token, refreshedAgain.refresh_token]);
    expect({ accessTokens: accessTokens.size, refreshTokens: refreshTokens.size }).toEqual({ accessTokens: 3, refreshTokens: 3 });
    expect(refreshedAgain.is_expired).toBe(false);
    expect(await introspect(refreshedAgain.access_token)).toMatchObject({ active: true, client_id: client.id, sub: user.customerId });
    expect(await introspect(String(refreshed.refresh_token))).toEqual({ active: false });
  });

  test('errors arrive as OAuthError with the RFC 6749 code: invalid_scope, invalid_client, invalid_grant', () => {
    expect(errorOf<ErrorFindings>(findings.refused_scope)).toMatchObject({ oauth_error: true, error: 'invalid_scope' });
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      expect({ method, ...errorOf<ErrorFindings>(findings[`wrong_secret_${method}`]) }).toMatchObject({ method, oauth_error: true, error: 'invalid_client' });
    }
    expect(errorOf<ErrorFindings>(findings.wrong_password)).toMatchObject({ oauth_error: true, error: 'invalid_grant' });
  });

  test('an account with a second factor: OAuthError mfa_required; the mfa_token, read through the token-response hook, works', async () => {
    const mfa = findings.mfa as { mfa_token?: string | null };
    expect(errorOf<ErrorFindings>(mfa)).toMatchObject({ oauth_error: true, error: 'mfa_required' });
    expect(mfa.mfa_token).toEqual(expect.any(String));
    const finished = await postForm(
      `${server.baseUrl}/token`,
      { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: String(mfa.mfa_token), otp: await totpCode(String(mfaUser.totpSecret)) },
      client,
    );
    expect(finished.status).toBe(200);
    expect(await introspect(String(finished.body.access_token))).toMatchObject({ active: true, sub: mfaUser.customerId, acr: 'urn:authtoken:acr:mfa' });
  });
});
