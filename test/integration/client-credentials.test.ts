import { collectionName } from '../../src/provider/index.js';
import { DEMO, postForm, startTestServer, STORE_KINDS, testServer } from '../support/server.js';

describe.each(STORE_KINDS)('client credentials on the %s store', (storeKind) => {
  const running = testServer({ store: storeKind });

  const token = (form: Record<string, string>, basic = DEMO) => postForm(`${running.server.baseUrl}/token`, form, basic);

  test('issues an opaque AuthToken with the requested scope and the default audience', async () => {
    const response = await token({ grant_type: 'client_credentials', scope: 'api:read' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', scope: 'api:read', expires_in: 3600 });
    expect(typeof response.body.access_token).toBe('string');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  test('client_secret_post works as well as basic', async () => {
    const response = await postForm(`${running.server.baseUrl}/token`, {
      grant_type: 'client_credentials',
      client_id: DEMO.id,
      client_secret: DEMO.secret,
    });
    expect(response.status).toBe(200);
  });

  test('a wrong secret is 401 invalid_client', async () => {
    const response = await token({ grant_type: 'client_credentials' }, { id: DEMO.id, secret: 'not-the-secret' });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });

  test('an unknown client is 401 invalid_client', async () => {
    const response = await token({ grant_type: 'client_credentials' }, { id: 'nobody', secret: 'x' });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });

  test('a scope the client may not have is 400 invalid_scope, not silently dropped', async () => {
    const response = await token({ grant_type: 'client_credentials', scope: 'api:read api:admin' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_scope', scope: 'api:admin' });
  });

  test('scopes separated by commas are 400 invalid_scope saying scopes are separated by spaces', async () => {
    for (const scope of ['api:read,api:write', 'api:read, api:write']) {
      const response = await token({ grant_type: 'client_credentials', scope });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: 'invalid_scope',
        error_description: 'requested scope is not allowed for this client (scopes are separated by spaces, not commas: RFC 6749 3.3)',
      });
    }
    const spaced = await token({ grant_type: 'client_credentials', scope: 'api:read api:write' });
    expect(spaced.status).toBe(200);
  });

  test('an unknown resource is 400 invalid_target', async () => {
    const response = await token({ grant_type: 'client_credentials', resource: 'https://elsewhere.example/api' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_target');
  });

  test('an unknown grant type is 400 unsupported_grant_type', async () => {
    const response = await token({ grant_type: 'urn:example:nonsense' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('unsupported_grant_type');
  });

  test('a missing grant type is 400 invalid_request', async () => {
    const response = await token({});
    expect(response.status).toBe(400);
    expect(response.body.error).toBe('invalid_request');
  });

  test.each(['/token', '/token/introspection', '/token/revocation'])('a form posted to %s without a Content-Type is 400 saying the type is missing, not a parameter', async (path) => {
    const response = await fetch(`${running.server.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` },
      body: new TextEncoder().encode('grant_type=client_credentials&token=x'),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: `only application/x-www-form-urlencoded content-type bodies are supported on POST ${path} (the request had no Content-Type)`,
    });
  });

  test('a body-less token request without a Content-Type still names the missing grant_type', async () => {
    const response = await fetch(`${running.server.baseUrl}/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request', error_description: "missing required parameter 'grant_type'" });
  });

  test('a malformed body is 400 JSON', async () => {
    const response = await fetch(`${running.server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` },
      body: '{"grant_type": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  test('a body over the 56 KiB limit is 413 JSON, never 500', async () => {
    const response = await fetch(`${running.server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&padding=${'a'.repeat(70 * 1024)}`,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  // oidc-provider parses its endpoints' bodies itself, with a fixed limit of 56 KiB; a body between that and our
  // limit was its bare 400 "failed to parse the request body", not the answer any other body too large gets.
  test.each(['/token', '/token/introspection', '/token/revocation'])('a 60 KiB body at %s is the same 413 JSON as any body too large', async (path) => {
    const response = await fetch(`${running.server.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&token=x&padding=${'a'.repeat(60 * 1024)}`,
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringMatching(/body is too large/) });
  });

  test('a chunked body over the limit (no content-length) is a 4xx JSON, never 500', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < 70; index += 1) controller.enqueue(new TextEncoder().encode('a'.repeat(1024)));
        controller.close();
      },
    });
    const response = await fetch(`${running.server.baseUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(await response.json()).toHaveProperty('error');
  });

  test('a body whose Content-Encoding does not match its bytes is 400 wherever a body is read, never 500', async () => {
    // Pages answer with a page, the Generate Token API and /mfa/challenge with JSON.
    const routes: Array<{ path: string; type: RegExp }> = [
      { path: '/mfa/challenge', type: /^application\/json/ },
      { path: '/auth/v1/authentication/token', type: /^application\/json/ },
      { path: '/interaction/no-such-interaction/login', type: /^text\/html/ },
      { path: '/dashboard/signup', type: /^text\/html/ },
      { path: '/account/forgot', type: /^text\/html/ },
    ];
    for (const { path, type } of routes) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const response = await fetch(`${running.server.baseUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': encoding },
          body: 'this is not compressed',
        });
        expect({ path, encoding, status: response.status }).toEqual({ path, encoding, status: 400 });
        expect(response.headers.get('content-type')).toMatch(type);
        expect(await response.text()).not.toMatch(/incorrect header check|Decompression failed|Z_DATA_ERROR|node:/);
      }
    }
  });

  test('a caller preferring HTML (a browser\'s Accept) still gets RFC 6749 / 6750 JSON errors from the OAuth endpoints', async () => {
    const accept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const basic = (secret: string) => `Basic ${Buffer.from(`${DEMO.id}:${secret}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded', accept };
    const answers = [
      await fetch(`${running.server.baseUrl}/token`, { method: 'POST', headers: { ...form, authorization: basic('wrong') }, body: 'grant_type=client_credentials' }),
      await fetch(`${running.server.baseUrl}/token`, { method: 'POST', headers: { ...form, authorization: basic(DEMO.secret) }, body: 'grant_type=nope' }),
      await fetch(`${running.server.baseUrl}/token/introspection`, { method: 'POST', headers: form, body: 'token=x' }),
      await fetch(`${running.server.baseUrl}/token/revocation`, { method: 'POST', headers: form, body: 'token=x' }),
      await fetch(`${running.server.baseUrl}/me`, { headers: { accept, authorization: 'Bearer not-a-token' } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 400, 400, 400, 401]);
    for (const answer of answers) {
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await answer.json()).toMatchObject({ error: expect.any(String) });
    }
  });

  test('introspection reports an active token with scope, client_id, the client as sub, exp and aud', async () => {
    const issued = await token({ grant_type: 'client_credentials', scope: 'api:read api:write' });
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: String(issued.body.access_token) }, DEMO);
    expect(introspection.status).toBe(200);
    expect(introspection.body).toMatchObject({
      active: true,
      scope: 'api:read api:write',
      client_id: DEMO.id,
      sub: DEMO.id,
      aud: running.server.config.defaultResource,
      iss: running.server.config.issuer,
    });
    expect(introspection.body.exp).toEqual(expect.any(Number));
  });

  test('revocation answers 200 and the token then introspects inactive', async () => {
    const issued = await token({ grant_type: 'client_credentials', scope: 'api:read' });
    const accessToken = String(issued.body.access_token);
    const revocation = await postForm(`${running.server.baseUrl}/token/revocation`, { token: accessToken }, DEMO);
    expect(revocation.status).toBe(200);
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: accessToken }, DEMO);
    expect(introspection.body).toEqual({ active: false });
  });

  test('another client neither sees nor revokes a token it does not own', async () => {
    const other = await running.server.application.clients.create({ name: 'Other', grantTypes: ['client_credentials'], scopes: ['api:read'] });
    const otherAuth = { id: other.clientId, secret: String(other.clientSecret) };
    const issued = await token({ grant_type: 'client_credentials', scope: 'api:read' });
    const accessToken = String(issued.body.access_token);
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: accessToken }, otherAuth);
    expect(introspection.body).toEqual({ active: false });
    const revocation = await postForm(`${running.server.baseUrl}/token/revocation`, { token: accessToken }, otherAuth);
    expect(revocation.status).toBe(400);
    expect(revocation.body.error).toBe('unauthorized_client');
    const stillActive = await postForm(`${running.server.baseUrl}/token/introspection`, { token: accessToken }, DEMO);
    expect(stillActive.body.active).toBe(true);
  });

  test('client secrets are stored only as salted hashes', async () => {
    const stored = await running.server.store.collection<{ _id: string; data: string }>(collectionName('Client')).findOne({ _id: DEMO.id });
    expect(stored).not.toBeNull();
    expect(stored?.data).not.toContain(DEMO.secret);
    expect(JSON.parse(String(stored?.data)).client_secret).toMatch(/^hmac-sha256\$/);
  });

  test('the token value is not stored in clear', async () => {
    const issued = await token({ grant_type: 'client_credentials', scope: 'api:read' });
    const accessToken = String(issued.body.access_token);
    const documents = await running.server.store.collection(collectionName('ClientCredentials')).find({});
    expect(documents.length).toBeGreaterThan(0);
    expect(JSON.stringify(documents)).not.toContain(accessToken);
  });

  test('discovery lists the endpoints and client authentication methods', async () => {
    const discovery = (await (await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery.issuer).toBe(running.server.baseUrl);
    expect(discovery.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials']));
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']),
    );
    expect(discovery.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
    expect(discovery.introspection_endpoint).toBe(`${running.server.baseUrl}/token/introspection`);
    expect(discovery.revocation_endpoint).toBe(`${running.server.baseUrl}/token/revocation`);
    // RFC 8414: without these lists, revocation would read as client_secret_basic only.
    for (const endpoint of ['introspection', 'revocation']) {
      expect(discovery[`${endpoint}_endpoint_auth_methods_supported`]).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']));
      expect(discovery[`${endpoint}_endpoint_auth_signing_alg_values_supported`]).toEqual(discovery.token_endpoint_auth_signing_alg_values_supported);
    }
    expect(discovery.claim_types_supported).toEqual(['normal']);
  });

  test('JWKS publishes public keys only', async () => {
    const jwks = (await (await fetch(`${running.server.baseUrl}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(2);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });
});

describe('the MongoDB store across a restart', () => {
  test('a token issued before a server restart is still active after it', async () => {
    const first = await startTestServer({ store: 'mongodb' });
    const databaseName = first.config.mongodb?.dbName;
    const issued = await postForm(`${first.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
    expect(issued.status).toBe(200);
    const port = Number(new URL(first.baseUrl).port);
    await first.close();

    const second = await startTestServer({ store: 'mongodb', databaseName, port });
    try {
      const introspection = await postForm(`${second.baseUrl}/token/introspection`, { token: String(issued.body.access_token) }, DEMO);
      expect(introspection.body).toMatchObject({ active: true, scope: 'api:read' });
    } finally {
      await second.close();
    }
  });
});
