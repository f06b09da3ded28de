import { randomUUID } from 'node:crypto';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { requestWithHost } from '../support/host-request.js';
import { postForm, STORE_KINDS, testServer } from '../support/server.js';

type Json = Record<string, unknown>;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface PartnerKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newPartnerKey(kid: string): Promise<PartnerKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** A client assertion with a fresh jti, issued now and valid for two minutes unless `times` says otherwise. */
function assertion(key: PartnerKey, clientId: string, aud: string | string[], times: { iat?: number; exp?: number } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: String(key.publicJwk.kid) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(aud)
    .setJti(randomUUID())
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp ?? '2m')
    .sign(key.privateKey);
}

/**
 * Partners who prefer keys to secrets (RFC 7523 private_key_jwt): registered through the admin API with their
 * public keys, they get client-credentials tokens with a signed assertion, whose audience must name this
 * server as configured (the issuer, or its token endpoint): never an address taken from the request.
 */
describe.each(STORE_KINDS)('private_key_jwt client authentication on the %s store', (storeKind) => {
  let key: PartnerKey;
  let clientId: string;
  const running = testServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  beforeAll(async () => {
    key = await newPartnerKey('partner-key-1');
    const created = await admin('POST', '/clients', {
      body: { name: 'Key partner', grant_types: ['client_credentials'], scopes: ['api:read'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } },
    });
    expect(created.status).toBe(201);
    const body = created.body as Json;
    expect(body).toMatchObject({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [expect.objectContaining({ kid: 'partner-key-1' })] } });
    expect(body.client_secret).toBeUndefined();
    clientId = String(body.client_id);
  });

  const admin = (method: string, path: string, options?: Parameters<typeof adminRequest>[3]) => adminRequest(running.server.adminUrl ?? '', method, path, options);
  const tokenRequestWithHost = async (host: string, form: Record<string, string>) => {
    const answer = await requestWithHost(running.server.baseUrl, host, '/token', { form });
    return { status: answer.status, body: answer.body as Json };
  };
  const tokenWith = (clientAssertion: string) =>
    postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read', client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion });

  test('an assertion for the issuer, or for the token endpoint under the issuer, gets a token; each is single use', async () => {
    for (const aud of [running.server.config.issuer, `${running.server.config.issuer}/token`]) {
      const signed = await assertion(key, clientId, aud);
      const issued = await tokenWith(signed);
      expect({ aud, status: issued.status }).toEqual({ aud, status: 200 });
      const replayed = await tokenWith(signed);
      expect(replayed.status).toBe(401);
      expect(replayed.body.error).toBe('invalid_client');
    }
  });

  // DESIGN's "consume races": the replay check must be one atomic write, or concurrent copies all pass it.
  test('copies of one assertion sent at once: exactly one gets a token', async () => {
    const signed = await assertion(key, clientId, running.server.config.issuer);
    const answers = await Promise.all(Array.from({ length: 12 }, () => tokenWith(signed)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array.from({ length: 11 }, () => 401)]);
  });

  test('an audience taken from the Host header, or one audience among several, is refused', async () => {
    const elsewhere = await tokenRequestWithHost('other-server.example', {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key, clientId, 'http://other-server.example/token'),
    });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.body.error).toBe('invalid_client');

    const several = await tokenWith(await assertion(key, clientId, ['https://another-as.example', running.server.config.issuer]));
    expect(several.status).toBe(401);
    expect(several.body.error).toBe('invalid_client');
  });

  // Behind a proxy that passes its upstream name as Host (nginx's default `proxy_set_header Host $proxy_host`),
  // the token endpoint URL under ISSUER is still this server's: the audience check must not depend on Host.
  test('an assertion for the token endpoint under the issuer works whatever Host the request came with', async () => {
    const viaProxy = await tokenRequestWithHost('authtoken-upstream:3000', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(key, clientId, `${running.server.config.issuer}/token`),
    });
    expect(viaProxy.status).toBe(200);
  });

  // The replay record of an assertion lives until its exp: an exp past what a date can hold gave a record that
  // was stored as already expired on MongoDB, and the same assertion was accepted again and again.
  test('an assertion that expires too far ahead is refused, so its replay record always has a real lifetime', async () => {
    for (const exp of [Math.floor(Date.now() / 1000) + 10 * 24 * 3600, 1e13, 1e300]) {
      const signed = await assertion(key, clientId, running.server.config.issuer, { exp });
      const answers = [await tokenWith(signed), await tokenWith(signed)];
      expect({ exp, statuses: answers.map((answer) => answer.status) }).toEqual({ exp, statuses: [401, 401] });
      expect(answers[0]?.body.error).toBe('invalid_client');
    }
  });

  test('an assertion issued in the future (iat half an hour ahead) is refused; a few seconds of clock drift are fine', async () => {
    const issuedAt = async (iat: number) => tokenWith(await assertion(key, clientId, running.server.config.issuer, { iat, exp: iat + 120 }));
    const now = Math.floor(Date.now() / 1000);
    // exp stays within CLIENT_ASSERTION_MAX_LIFETIME_SECONDS, so only iat can refuse it.
    const ahead = await issuedAt(now + 1800);
    expect(ahead.status).toBe(401);
    expect(ahead.body.error).toBe('invalid_client');
    expect((await issuedAt(now + 5)).status).toBe(200);
  });

  // A partner refused with only "client authentication failed" cannot tell a slow clock from a reused jti.
  test('an expired or already-used assertion is 401 invalid_client saying which, at the token and introspection endpoints', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await assertion(key, clientId, running.server.config.issuer, { iat: now - 600, exp: now - 300 });
    expect(await tokenWith(expired)).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed: jwt expired' } });

    const signed = await assertion(key, clientId, running.server.config.issuer);
    expect((await tokenWith(signed)).status).toBe(200);
    const usedAgain = { error: 'invalid_client', error_description: 'client authentication failed: client assertion tokens must only be used once' };
    expect(await tokenWith(signed)).toMatchObject({ status: 401, body: usedAgain });
    const atIntrospection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: 'any', client_assertion_type: ASSERTION_TYPE, client_assertion: signed });
    expect(atIntrospection).toMatchObject({ status: 401, body: usedAgain });
  });

  test('an unknown client, with an assertion or a secret, and a wrong secret keep the one generic answer', async () => {
    const generic = { error: 'invalid_client', error_description: 'client authentication failed' };
    expect(await tokenWith(await assertion(key, 'no-such-client', running.server.config.issuer))).toMatchObject({ status: 401, body: generic });
    const wrongSecret = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials' }, { id: 'demo-client', secret: 'not-the-secret' });
    expect(wrongSecret).toMatchObject({ status: 401, body: generic });
    const unknown = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials' }, { id: 'no-such-client', secret: 'x' });
    expect(unknown).toMatchObject({ status: 401, body: generic });
  });

  test('an assertion signed with a key the client did not register is refused; a secret is no way in', async () => {
    const stranger = await newPartnerKey('partner-key-1');
    expect((await tokenWith(await assertion(stranger, clientId, running.server.config.issuer))).status).toBe(401);
    const withSecret = await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { id: clientId, secret: 'anything-at-all' });
    expect(withSecret.status).toBe(401);
  });

  test('the partner rotates keys through the admin API: the new key works, the replaced one stops', async () => {
    const next = await newPartnerKey('partner-key-2');
    const updated = await admin('PATCH', `/clients/${clientId}`, { body: { jwks: { keys: [next.publicJwk] } } });
    expect(updated.status).toBe(200);
    expect((await tokenWith(await assertion(next, clientId, running.server.config.issuer))).status).toBe(200);
    expect((await tokenWith(await assertion(key, clientId, running.server.config.issuer))).status).toBe(401);
    key = next;
  });

  test('registration refuses a private key, a missing jwks, and jwks on a client that does not use keys', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'leaked' };
    const base = { name: 'Bad partner', grant_types: ['client_credentials'], scopes: ['api:read'] };
    const refused = [
      await admin('POST', '/clients', { body: { ...base, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateJwk] } } }),
      await admin('POST', '/clients', { body: { ...base, token_endpoint_auth_method: 'private_key_jwt' } }),
      await admin('POST', '/clients', { body: { ...base, jwks: { keys: [key.publicJwk] } } }),
    ];
    expect(refused.map((response) => response.status)).toEqual([400, 400, 400]);
    expect(JSON.stringify(refused.map((response) => response.body))).not.toContain(String(privateJwk.d));
  });

  // RSA with e=1 "verifies" any signature equal to the padded hash: anyone could sign as the partner.
  test('registration and key rotation refuse an RSA key whose public exponent protects nothing', async () => {
    const { publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    const rsa = await exportJWK(publicKey);
    const base = { name: 'Weak RSA partner', grant_types: ['client_credentials'], scopes: ['api:read'], token_endpoint_auth_method: 'private_key_jwt' };
    for (const e of ['AQ', 'AA', 'Ag']) {
      const created = await admin('POST', '/clients', { body: { ...base, jwks: { keys: [{ ...rsa, e, kid: 'weak' }] } } });
      expect({ e, status: created.status }).toEqual({ e, status: 400 });
      const rotated = await admin('PATCH', `/clients/${clientId}`, { body: { jwks: { keys: [{ ...rsa, e, kid: 'weak' }] } } });
      expect({ e, status: rotated.status }).toEqual({ e, status: 400 });
    }
  });

  test('a key with a deeply nested member is refused with 400, not a server error', async () => {
    const nested = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const body = JSON.stringify({
      name: 'Nested partner', grant_types: ['client_credentials'], scopes: ['api:read'], token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...key.publicJwk, kid: 'nested', extra: '@nested@' }] },
    }).replace('"@nested@"', nested);
    for (const [method, path] of [['POST', '/clients'], ['PATCH', `/clients/${clientId}`]] as const) {
      const sent = method === 'POST' ? body : JSON.stringify({ jwks: { keys: [{ ...key.publicJwk, kid: 'nested', extra: '@nested@' }] } }).replace('"@nested@"', nested);
      const response = await fetch(`${running.server.adminUrl ?? ''}${path}`, { method, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: sent });
      expect({ method, status: response.status }).toEqual({ method, status: 400 });
      expect(((await response.json()) as Json).error).toBe('invalid_request');
    }
  });
});
