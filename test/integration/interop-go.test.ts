import { randomBytes } from 'node:crypto';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { createCustomer, totpCode, type Customer } from '../support/dashboard.js';
import { errorOf, interopClient, runInteropClient, tokenOf } from '../support/interop.js';
import { postForm, startTestServer, STORE_KINDS, type TestServer } from '../support/server.js';

const REPORTS_API = 'https://reports.example/api';

interface TokenFindings {
  access_token: string;
  token_type: string;
  refresh_token?: string;
  expires_in: number;
  scope: unknown;
  valid: boolean;
}
interface ErrorFindings {
  retrieve_error: boolean;
  error_code?: string;
  error_description?: string;
  status?: number;
  body?: Record<string, unknown>;
  go_error: string;
}

/**
 * Go partners and apps reach us through golang.org/x/oauth2, not through requests they build themselves. A
 * small program (test/interop/go, its versions pinned by its go.sum) drives our real server through that
 * library: client credentials in each of its client authentication styles, a resource parameter, the
 * password grant and a refresh by the library's own token source, and the errors it must be able to read.
 * It prints what the library saw; here we check that, and what the server says of the tokens it got.
 */
describe.each(STORE_KINDS)('golang.org/x/oauth2 against the server on the %s store', (storeKind) => {
  let server: TestServer;
  let client: { id: string; secret: string };
  let user: Customer;
  let mfaUser: Customer;
  let findings: Record<string, unknown>;

  const introspect = async (token: string) => (await postForm(`${server.baseUrl}/token/introspection`, { token }, client)).body;

  beforeAll(async () => {
    const program = interopClient('go');
    server = await startTestServer({ store: storeKind, env: { RESOURCE_SERVERS: JSON.stringify([{ identifier: REPORTS_API, scopes: ['reports:read'] }]) } });
    // x/oauth2 form-encodes the id and secret before HTTP Basic (RFC 6749 2.3.1): a secret with characters
    // that encoding changes shows the server decodes them back.
    const secret = `go interop+${randomBytes(6).toString('hex')}/%:&=`;
    const created = await server.application.clients.create({
      name: 'Go partner',
      grantTypes: ['client_credentials', 'password', 'refresh_token'],
      scopes: ['api:read', 'api:write', 'reports:read', 'offline_access'],
      passwordGrant: true,
      secret,
    });
    client = { id: created.clientId, secret };
    user = await createCustomer(server, { totp: false });
    mfaUser = await createCustomer(server, { totp: true });
    findings = await runInteropClient(program, [], {
      INTEROP_ISSUER: server.baseUrl,
      INTEROP_CLIENT_ID: client.id,
      INTEROP_CLIENT_SECRET: client.secret,
      INTEROP_SCOPE: 'api:read api:write',
      INTEROP_REFUSED_SCOPE: 'admin:everything',
      INTEROP_RESOURCE: REPORTS_API,
      INTEROP_RESOURCE_SCOPE: 'reports:read',
      INTEROP_USER: user.email,
      INTEROP_PASSWORD: user.password,
      INTEROP_MFA_USER: mfaUser.email,
      INTEROP_MFA_PASSWORD: mfaUser.password,
    });
  }, 600_000);
  afterAll(async () => {
    await server?.close();
  });

  test('client credentials with the secret in the Authorization header, in the body, and auto-detected', async () => {
    expect(findings.token_endpoint).toBe(`${server.baseUrl}/token`);
    for (const style of ['client_credentials_header', 'client_credentials_params', 'client_credentials_auto_detect']) {
      const token = tokenOf<TokenFindings>(findings[style]);
      expect({ style, ...token }).toMatchObject({ style, token_type: 'Bearer', scope: 'api:read api:write', valid: true });
      expect(token.expires_in).toBeGreaterThan(3500);
      expect(await introspect(token.access_token)).toMatchObject({ active: true, client_id: client.id, scope: 'api:read api:write', aud: server.config.defaultResource });
    }
  });

  test('EndpointParams resource: the token is for that API, with its scope', async () => {
    const token = tokenOf<TokenFindings>(findings.client_credentials_resource);
    expect(token.scope).toBe('reports:read');
    expect(await introspect(token.access_token)).toMatchObject({ active: true, client_id: client.id, scope: 'reports:read', aud: REPORTS_API });
  });

  test('a refused scope is a RetrieveError with ErrorCode invalid_scope; a wrong secret is invalid_client in every style', () => {
    expect(errorOf<ErrorFindings>(findings.refused_scope)).toMatchObject({ retrieve_error: true, error_code: 'invalid_scope', status: 400 });
    for (const style of ['wrong_secret_header', 'wrong_secret_params', 'wrong_secret_auto_detect']) {
      expect({ style, ...errorOf<ErrorFindings>(findings[style]) }).toMatchObject({ style, retrieve_error: true, error_code: 'invalid_client', status: 401 });
    }
  });

  test('the password grant, then a refresh by the token source once the token has expired', async () => {
    const signedIn = tokenOf<TokenFindings>(findings.password);
    expect(signedIn).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String), valid: true });
    const refreshed = tokenOf<TokenFindings>(findings.refreshed);
    expect(refreshed).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String), valid: true });
    expect(refreshed.access_token).not.toBe(signedIn.access_token);
    // The token source keeps the refreshed token: a second call does not refresh again.
    expect(tokenOf<TokenFindings>(findings.refreshed_again).access_token).toBe(refreshed.access_token);
    expect(await introspect(refreshed.access_token)).toMatchObject({ active: true, client_id: client.id, sub: user.customerId, scope: expect.stringContaining('api:read') });
    // Refresh tokens rotate: the one the library spent is no longer good.
    expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token);
    expect(await introspect(String(signedIn.refresh_token))).toEqual({ active: false });
  });

  test('an account with a second factor: ErrorCode mfa_required, and the body the library keeps carries an mfa_token that works', async () => {
    const refusal = errorOf<ErrorFindings>(findings.mfa);
    expect(refusal).toMatchObject({ retrieve_error: true, error_code: 'mfa_required', status: 403, body: { error: 'mfa_required', mfa_token: expect.any(String) } });
    // An app reads the mfa_token from RetrieveError.Body and finishes with the mfa-otp grant (which x/oauth2 has no method for).
    const finished = await postForm(
      `${server.baseUrl}/token`,
      { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: String(refusal.body?.mfa_token), otp: await totpCode(String(mfaUser.totpSecret)) },
      client,
    );
    expect(finished.status).toBe(200);
    expect(await introspect(String(finished.body.access_token))).toMatchObject({ active: true, sub: mfaUser.customerId, acr: 'urn:authtoken:acr:mfa' });
  });
});
