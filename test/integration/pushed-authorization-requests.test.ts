import { createHash, randomBytes } from 'node:crypto';

import { createCustomer } from '../support/dashboard.js';
import { DEMO_APP_CALLBACK, followToDemoApp, submitToDemoApp } from '../support/demo-app.js';
import { PageClient } from '../support/page-client.js';
import { DEMO, postForm, STORE_KINDS, testServer } from '../support/server.js';

const PUSHED_REQUEST_URI = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]+$/;

/**
 * RFC 9126 pushed authorization requests (oidc-provider's `/request`, on by default): a client posts its
 * authorization parameters over the back channel and sends the person to /auth with the request_uri it got.
 * The same rules hold as for parameters in the front channel (PKCE S256, exact redirect URIs, the code flow
 * alone), and a request_uri leads to one authorization.
 */
describe.each(STORE_KINDS)('pushed authorization requests (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  const push = (form: Record<string, string>, client?: { id: string; secret: string }) => postForm(`${running.server.baseUrl}/request`, form, client);

  function authorizationParameters(extra: Record<string, string> = {}) {
    const verifier = randomBytes(32).toString('base64url');
    const parameters = {
      client_id: 'demo-app',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: DEMO_APP_CALLBACK,
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...extra,
    };
    return { parameters, verifier };
  }

  test('discovery names the endpoint', async () => {
    const discovery = (await (await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.pushed_authorization_request_endpoint).toBe(`${running.server.baseUrl}/request`);
  });

  test('a public client pushes its parameters, the person signs in at /auth with the request_uri, the code redeems once', async () => {
    const customer = await createCustomer(running.server, { totp: false });
    const { parameters, verifier } = authorizationParameters();
    const pushed = await push(parameters);
    expect(pushed.status).toBe(201);
    expect(pushed.headers.get('cache-control')).toBe('no-store');
    expect(pushed.body.request_uri).toMatch(PUSHED_REQUEST_URI);
    expect(pushed.body.expires_in).toEqual(expect.any(Number));

    const browser = new PageClient(running.server.baseUrl);
    const requestUri = String(pushed.body.request_uri);
    const authorize = `/auth?${new URLSearchParams({ client_id: 'demo-app', request_uri: requestUri }).toString()}`;
    const { page: login } = await followToDemoApp(browser, await browser.request(authorize));
    expect(login.status).toBe(200);
    const signedIn = await submitToDemoApp(browser, login, /\/login$/, { username: customer.email, password: customer.password });
    const { callback } = signedIn.callback ? signedIn : await submitToDemoApp(browser, signedIn.page, /\/consent$/, { decision: 'allow' });
    expect(callback?.searchParams.get('state')).toBe(parameters.state);
    expect(callback?.searchParams.get('iss')).toBe(running.server.baseUrl);
    const code = String(callback?.searchParams.get('code'));

    const redeemed = await postForm(`${running.server.baseUrl}/token`, {
      grant_type: 'authorization_code',
      client_id: 'demo-app',
      code,
      redirect_uri: DEMO_APP_CALLBACK,
      code_verifier: verifier,
    });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.access_token).toEqual(expect.any(String));

    // The request_uri was spent by that authorization: the same link brings the app invalid_request_uri, never a code.
    const again = await browser.request(authorize);
    expect(again.status).toBe(303);
    const refused = new URL(String(again.location));
    expect(`${refused.origin}${refused.pathname}`).toBe(DEMO_APP_CALLBACK);
    expect(refused.searchParams.get('error')).toBe('invalid_request_uri');
    expect(refused.searchParams.get('iss')).toBe(running.server.baseUrl);
    expect(refused.searchParams.has('code')).toBe(false);
  });

  test('the front channel rules hold for pushed parameters: PKCE S256, a registered redirect URI, the code flow', async () => {
    const withoutPkce = authorizationParameters();
    const { code_challenge: _challenge, code_challenge_method: _method, ...noChallenge } = withoutPkce.parameters;
    expect(await push(noChallenge)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await push(authorizationParameters({ code_challenge_method: 'plain' }).parameters)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await push(authorizationParameters({ redirect_uri: 'https://attacker.example/callback' }).parameters)).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: expect.stringMatching(/redirect_uri/) },
    });
    expect(await push(authorizationParameters({ response_type: 'token' }).parameters)).toMatchObject({ status: 400, body: { error: 'unsupported_response_type' } });
  });

  test('a confidential client authenticates to push, as at the token endpoint', async () => {
    const { parameters } = authorizationParameters({ client_id: DEMO.id });
    expect((await push(parameters, DEMO)).status).toBe(201);
    const refused = await push(parameters, { id: DEMO.id, secret: 'not-the-secret' });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });
});
