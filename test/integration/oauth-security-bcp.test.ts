import { createHash, randomBytes } from 'node:crypto';

import { createTestAccount, issueAuthorizationCode } from '../support/authorization-code.js';
import { DEMO_APP_CALLBACK, demoAppAuthorizationUrl } from '../support/demo-app.js';
import { grantRefreshTokenForUser } from '../support/grants.js';
import { PageClient } from '../support/page-client.js';
import { DEMO, postForm, STORE_KINDS, testServer } from '../support/server.js';

/** The seeded public client of the code flow (config/seed: PKCE S256, redirect URI DEMO_APP_CALLBACK). */
const PUBLIC_CLIENT = 'demo-app';

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The parameters of an authorization response: in the fragment for the response types that would use it, else the query. */
function responseParameters(location: string): Record<string, string> {
  const url = new URL(location);
  return Object.fromEntries(new URLSearchParams(url.hash ? url.hash.slice(1) : url.search));
}

/**
 * RFC 9700 (OAuth 2.0 Security BCP) at the authorization and token endpoints, where the other tests do not look:
 * the front channel carries a code and nothing else (PKCE S256 for every client, `iss` per RFC 9207), redirect URIs
 * match exactly or get our error page, a code is spent once by its own client, a public client's refresh tokens
 * rotate with reuse detection, and a client secret in a query string authenticates nobody.
 */
describe.each(STORE_KINDS)('RFC 9700 at the authorization and token endpoints on the %s store', (storeKind) => {
  let accountId: string;
  const running = testServer({ store: storeKind });
  beforeAll(async () => {
    accountId = await createTestAccount(running.server.application);
  });

  /** /auth as a browser sends it, redirects not followed: our page, or the answer sent to the app. */
  const authorize = (url: string) => new PageClient(running.server.baseUrl).request(url);
  const userinfoStatus = async (accessToken: unknown) =>
    (await fetch(`${running.server.baseUrl}/me`, { headers: { authorization: `Bearer ${String(accessToken)}` } })).status;
  const token = (form: Record<string, string>, basic?: { id: string; secret: string }) => postForm(`${running.server.baseUrl}/token`, form, basic);

  test('discovery offers the code flow alone, PKCE with S256 alone, and iss in authorization responses', async () => {
    const discovery = (await (await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      response_types_supported: ['code', 'none'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
  });

  test('a redirect_uri that is not exactly a registered one, or an unknown client, gets our error page, never a redirect', async () => {
    const variants = [
      'https://attacker.example/callback',
      `${DEMO_APP_CALLBACK}/`,
      `${DEMO_APP_CALLBACK}x`,
      `${DEMO_APP_CALLBACK}?next=https://attacker.example`,
      `${DEMO_APP_CALLBACK}#fragment`,
      DEMO_APP_CALLBACK.replace('localhost', 'LOCALHOST'),
      DEMO_APP_CALLBACK.replace('/callback', '/other/../callback'),
      DEMO_APP_CALLBACK.replace(':8080', ':8081'),
    ];
    for (const redirectUri of variants) {
      const page = await authorize(demoAppAuthorizationUrl(running.server.baseUrl, redirectUri));
      expect({ redirectUri, status: page.status, location: page.location, code: /<code>([^<]+)<\/code>/.exec(page.html)?.[1] }).toEqual({
        redirectUri,
        status: 400,
        location: undefined,
        code: 'invalid_redirect_uri',
      });
    }
    // An error found before the redirect URI is checked (here the response type) still never goes to an unchecked one.
    const unchecked = await authorize(demoAppAuthorizationUrl(running.server.baseUrl, 'https://attacker.example/callback', { response_type: 'token' }));
    expect({ status: unchecked.status, location: unchecked.location }).toEqual({ status: 400, location: undefined });
    const unknownClient = await authorize(demoAppAuthorizationUrl(running.server.baseUrl, 'https://attacker.example/callback', { client_id: 'no-such-client' }));
    expect({ status: unknownClient.status, location: unknownClient.location }).toEqual({ status: 400, location: undefined });
    expect(unknownClient.html).not.toContain('attacker.example');
  });

  test('response types that would put a token in the front channel are refused, at the registered URI, with iss', async () => {
    for (const responseType of ['token', 'id_token', 'id_token token', 'code id_token', 'code token', 'code id_token token']) {
      const answer = await authorize(demoAppAuthorizationUrl(running.server.baseUrl, DEMO_APP_CALLBACK, { response_type: responseType }));
      expect(answer.location?.startsWith(DEMO_APP_CALLBACK)).toBe(true);
      const parameters = responseParameters(answer.location ?? '');
      expect({ responseType, ...parameters }).toEqual({
        responseType,
        error: 'unsupported_response_type',
        error_description: expect.any(String),
        state: expect.any(String),
        iss: running.server.config.issuer,
      });
    }
  });

  test('PKCE: plain is refused, and a request without code_challenge is refused, from a confidential client too', async () => {
    const plain = await authorize(demoAppAuthorizationUrl(running.server.baseUrl, DEMO_APP_CALLBACK, { code_challenge_method: 'plain', code_challenge: pkcePair().verifier }));
    const withoutChallenge = (clientId: string) => {
      const url = new URL(demoAppAuthorizationUrl(running.server.baseUrl, DEMO_APP_CALLBACK, { client_id: clientId }));
      url.searchParams.delete('code_challenge');
      url.searchParams.delete('code_challenge_method');
      return authorize(url.toString());
    };
    for (const [name, answer] of [['plain', plain], ['public client without', await withoutChallenge(PUBLIC_CLIENT)], ['confidential client without', await withoutChallenge(DEMO.id)]] as const) {
      const parameters = responseParameters(answer.location ?? '');
      expect({ name, error: parameters.error, code: parameters.code, iss: parameters.iss }).toEqual({ name, error: 'invalid_request', code: undefined, iss: running.server.config.issuer });
    }
  });

  test('a code is redeemed only by its own client with its verifier, once: presented again, what it gave is revoked', async () => {
    const { verifier, challenge } = pkcePair();
    const code = await issueAuthorizationCode(running.server.application.provider, {
      clientId: PUBLIC_CLIENT,
      codeChallenge: challenge,
      accountId,
      redirectUri: DEMO_APP_CALLBACK,
      scope: 'openid offline_access',
    });
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: DEMO_APP_CALLBACK };
    const byOtherClient = await token({ ...exchange, code_verifier: verifier }, DEMO);
    const withoutVerifier = await token({ ...exchange, client_id: PUBLIC_CLIENT });
    const withOtherVerifier = await token({ ...exchange, client_id: PUBLIC_CLIENT, code_verifier: pkcePair().verifier });
    expect([byOtherClient, withoutVerifier, withOtherVerifier].map((answer) => `${answer.status} ${String(answer.body.error)}`)).toEqual([
      '400 invalid_grant',
      '400 invalid_grant',
      '400 invalid_grant',
    ]);

    // Those refusals spent nothing: the code still works for its own client.
    const first = await token({ ...exchange, client_id: PUBLIC_CLIENT, code_verifier: verifier });
    expect(first.status).toBe(200);
    expect(typeof first.body.refresh_token).toBe('string');
    expect(await userinfoStatus(first.body.access_token)).toBe(200);

    const again = await token({ ...exchange, client_id: PUBLIC_CLIENT, code_verifier: verifier });
    expect(again.body.error).toBe('invalid_grant');
    // RFC 9700 4.5 / RFC 6749 4.1.2: the code was stolen or replayed, so the tokens it gave are revoked.
    expect(await userinfoStatus(first.body.access_token)).toBe(401);
    expect((await token({ grant_type: 'refresh_token', client_id: PUBLIC_CLIENT, refresh_token: String(first.body.refresh_token) })).body.error).toBe('invalid_grant');
  });

  test("a public client's refresh token is rotated at each use; presented again, it revokes the whole grant", async () => {
    const { refreshToken } = await grantRefreshTokenForUser(running.server, { accountId, clientId: PUBLIC_CLIENT });
    const refresh = (value: unknown) => token({ grant_type: 'refresh_token', client_id: PUBLIC_CLIENT, refresh_token: String(value) });
    const rotated = await refresh(refreshToken);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).toEqual(expect.any(String));
    expect(rotated.body.refresh_token).not.toBe(refreshToken);
    expect(await userinfoStatus(rotated.body.access_token)).toBe(200);

    expect((await refresh(refreshToken)).body.error).toBe('invalid_grant');
    // The successor, held by whoever won the race, and its access token are gone with the grant.
    expect((await refresh(rotated.body.refresh_token)).body.error).toBe('invalid_grant');
    expect(await userinfoStatus(rotated.body.access_token)).toBe(401);
  });

  test('a client secret in the query string authenticates nobody: the token endpoint reads only the body and headers', async () => {
    const query = new URLSearchParams({ client_id: DEMO.id, client_secret: DEMO.secret });
    const answer = await fetch(`${running.server.baseUrl}/token?${query.toString()}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }).toString(),
    });
    const body = (await answer.json()) as Record<string, unknown>;
    expect({ status: answer.status, error: body.error, token: body.access_token }).toEqual({ status: 400, error: 'invalid_request', token: undefined });
    expect(JSON.stringify(body)).not.toContain(DEMO.secret);
  });
});
