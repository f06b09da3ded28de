import { generateKeyPairSync } from 'node:crypto';

import instance from 'oidc-provider/lib/helpers/weak_cache.js';

import { answerAfterReconnect, DEMO, serverOnOwnDatabase, STORE_KINDS, testServer, type TestServer } from '../support/server.js';

/**
 * The client-credentials fast path (src/provider/client-credentials-fast-path.ts) against oidc-provider's own
 * token pipeline: the same requests go to a server with the fast path and to one with
 * CLIENT_CREDENTIALS_FAST_PATH=false, and every answer must be the same (status, headers, body; token values
 * aside). Each request also records whether it entered the provider's pipeline on the fast-path server, so the
 * comparison is known to cover both the requests the fast path answers and those it hands on.
 */

const CLIENTS = [
  { clientId: 'fast-post', name: 'Post', grantTypes: ['client_credentials'], scopes: ['api:read'], authMethod: 'client_secret_post' as const, secret: 'post-secret-0123456789' },
  { clientId: 'fast-roles', name: 'Roles', grantTypes: ['client_credentials'], scopes: ['api:read', 'api:write'], roles: ['reporting'], secret: 'roles-secret-0123456789' },
  { clientId: 'fast-code', name: 'Code only', grantTypes: ['authorization_code'], scopes: ['api:read'], redirectUris: ['https://app.example/callback'], secret: 'code-secret-0123456789' },
  { clientId: 'fast.special~id', name: 'Special', grantTypes: ['client_credentials'], scopes: ['api:read'], secret: 'sp+cial secret%:0123!' },
];

const keyClientJwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

interface Variant {
  name: string;
  headers: Record<string, string>;
  body: string | (() => ReadableStream<Uint8Array>);
  /** Whether the fast path answers it itself (otherwise oidc-provider's pipeline does). */
  fast: boolean;
}

const demo = basic(DEMO.id, DEMO.secret);
const plain = (body: string, extra: Record<string, string> = {}, fast = false): Omit<Variant, 'name'> => ({
  headers: { 'content-type': FORM, authorization: demo, ...extra },
  body,
  fast,
});

const VARIANTS: Variant[] = [
  { name: 'grant_type alone', ...plain('grant_type=client_credentials', {}, true) },
  { name: 'one scope', ...plain('grant_type=client_credentials&scope=api%3Aread', {}, true) },
  { name: 'two scopes, resource named', ...plain('scope=api%3Aread+api%3Awrite&resource=http%3A%2F%2F127.0.0.1%3APORT%2Fapi&grant_type=client_credentials', {}, true) },
  { name: 'charset=utf-8', ...plain('grant_type=client_credentials', { 'content-type': `${FORM}; charset=utf-8` }, true) },
  { name: 'a client with roles', headers: { 'content-type': FORM, authorization: basic('fast-roles', 'roles-secret-0123456789') }, body: 'grant_type=client_credentials&scope=api%3Awrite', fast: true },
  { name: 'id and secret needing form encoding', headers: { 'content-type': FORM, authorization: basic('fast.special~id', 'sp+cial secret%:0123!') }, body: 'grant_type=client_credentials', fast: true },
  {
    name: 'a space form-encoded as +',
    headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from('fast.special~id:sp%2Bcial+secret%25%3A0123!').toString('base64')}` },
    body: 'grant_type=client_credentials',
    fast: true,
  },
  {
    name: 'a secret that is not visible ASCII',
    headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from('fast.special~id:sp%E2%82%ACcial').toString('base64')}` },
    body: 'grant_type=client_credentials',
    fast: false,
  },
  { name: 'scope not allowed', ...plain('grant_type=client_credentials&scope=api%3Aadmin') },
  { name: 'scopes separated by commas', ...plain('grant_type=client_credentials&scope=api%3Aread%2Capi%3Awrite') },
  { name: 'unknown resource', ...plain('grant_type=client_credentials&resource=https%3A%2F%2Felsewhere.example%2Fapi') },
  { name: 'two resources', ...plain('grant_type=client_credentials&resource=http%3A%2F%2F127.0.0.1%3APORT%2Fapi&resource=https%3A%2F%2Fx.example') },
  { name: 'scope with a quote', ...plain('grant_type=client_credentials&scope=api%3Aread%22') },
  { name: 'empty scope', ...plain('grant_type=client_credentials&scope=') },
  { name: 'scope twice', ...plain('grant_type=client_credentials&scope=api%3Aread&scope=api%3Awrite') },
  { name: 'grant_type twice', ...plain('grant_type=client_credentials&grant_type=client_credentials') },
  { name: 'an unknown parameter', ...plain('grant_type=client_credentials&scope=api%3Aread&audience=x') },
  { name: 'client_id in the body too', ...plain(`grant_type=client_credentials&client_id=${DEMO.id}`) },
  { name: 'another client_id in the body', ...plain('grant_type=client_credentials&client_id=fast-roles') },
  { name: 'client_secret in the body too', ...plain(`grant_type=client_credentials&client_secret=${DEMO.secret}`) },
  { name: 'another grant type', ...plain('grant_type=password&username=a%40b.example&password=x') },
  { name: 'an unknown grant type', ...plain('grant_type=urn%3Aexample%3Anone') },
  { name: 'no grant type', ...plain('scope=api%3Aread') },
  { name: 'wrong secret', headers: { 'content-type': FORM, authorization: basic(DEMO.id, 'not-the-secret') }, body: 'grant_type=client_credentials', fast: false },
  { name: 'unknown client', headers: { 'content-type': FORM, authorization: basic('nobody', 'x') }, body: 'grant_type=client_credentials', fast: false },
  { name: 'empty secret', headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from(`${DEMO.id}:`).toString('base64')}` }, body: 'grant_type=client_credentials', fast: false },
  { name: 'Basic without a colon', headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from(DEMO.id).toString('base64')}` }, body: 'grant_type=client_credentials', fast: false },
  { name: 'Basic not base64', headers: { 'content-type': FORM, authorization: 'Basic ***' }, body: 'grant_type=client_credentials', fast: false },
  { name: 'Bearer instead of Basic', headers: { 'content-type': FORM, authorization: 'Bearer abc' }, body: 'grant_type=client_credentials', fast: false },
  { name: 'a client_secret_post client over Basic', headers: { 'content-type': FORM, authorization: basic('fast-post', 'post-secret-0123456789') }, body: 'grant_type=client_credentials', fast: true },
  { name: 'client_secret_post', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_id=fast-post&client_secret=post-secret-0123456789&scope=api%3Aread', fast: true },
  { name: 'a client_secret_basic client over the form', headers: { 'content-type': FORM }, body: `client_id=${DEMO.id}&client_secret=${DEMO.secret}&grant_type=client_credentials`, fast: true },
  { name: 'a secret in the form that needs decoding', headers: { 'content-type': FORM }, body: `grant_type=client_credentials&client_id=fast.special~id&client_secret=${encodeURIComponent('sp+cial secret%:0123!')}`, fast: true },
  { name: 'a wrong secret in the form', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_id=fast-post&client_secret=not-the-secret', fast: false },
  { name: 'client_id alone in the form', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_id=fast-post', fast: false },
  { name: 'client_secret alone in the form', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_secret=post-secret-0123456789', fast: false },
  { name: 'client_secret twice in the form', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_id=fast-post&client_secret=post-secret-0123456789&client_secret=x', fast: false },
  { name: 'a private_key_jwt client with a secret in the form', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&client_id=fast-key&client_secret=anything-at-all', fast: false },
  { name: 'no client authentication', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials&scope=api%3Aread', fast: false },
  { name: 'a private_key_jwt client over Basic', headers: { 'content-type': FORM, authorization: basic('fast-key', 'anything-at-all') }, body: 'grant_type=client_credentials', fast: false },
  { name: 'a client without the grant', headers: { 'content-type': FORM, authorization: basic('fast-code', 'code-secret-0123456789') }, body: 'grant_type=client_credentials', fast: false },
  { name: 'a browser Origin', ...plain('grant_type=client_credentials', { origin: 'https://spa.example' }) },
  { name: 'a DPoP header', ...plain('grant_type=client_credentials', { dpop: 'not-a-proof' }) },
  { name: 'JSON instead of a form', ...plain('{"grant_type":"client_credentials"}', { 'content-type': 'application/json' }) },
  { name: 'latin-1 form', ...plain('grant_type=client_credentials', { 'content-type': `${FORM}; charset=iso-8859-1` }) },
  {
    name: 'a chunked body',
    headers: { 'content-type': FORM, authorization: demo },
    body: () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('grant_type=client_'));
          controller.enqueue(new TextEncoder().encode('credentials'));
          controller.close();
        },
      }),
    fast: false,
  },
];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Headers that differ between any two answers (time, request id, connection handling). */
const PER_ANSWER_HEADERS = new Set(['date', 'x-request-id', 'keep-alive', 'connection']);

async function send(server: TestServer, variant: Variant): Promise<Answer> {
  const port = new URL(server.baseUrl).port;
  const body = typeof variant.body === 'string' ? variant.body.replaceAll('PORT', port) : variant.body();
  const response = await fetch(`${server.baseUrl}/token`, { method: 'POST', headers: variant.headers, body, duplex: 'half' } as RequestInit);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: compared as text
  }
  if (typeof parsed === 'object' && parsed !== null && 'access_token' in parsed) parsed = { ...parsed, access_token: '<token>' };
  const headers = Object.fromEntries(
    [...response.headers].filter(([name]) => !PER_ANSWER_HEADERS.has(name)).map(([name, value]) => [name, value.replaceAll(port, 'PORT')]),
  );
  return { status: response.status, headers, body: parsed };
}

/** Records the requests oidc-provider's pipeline serves: each is first matched by its router, which the fast path never asks. */
function pipelineEntries(server: TestServer): string[] {
  const entries: string[] = [];
  const { router } = instance(server.application.provider);
  const match = router.match.bind(router);
  router.match = (method, path) => {
    entries.push(`${method} ${path}`);
    return match(method, path);
  };
  return entries;
}

describe.each(STORE_KINDS)('client-credentials fast path on the %s store', (storeKind) => {
  const fast = testServer({ store: storeKind });
  const pipeline = testServer({ store: storeKind, env: { CLIENT_CREDENTIALS_FAST_PATH: 'false' } });
  /** Requests that reached the fast-path server's oidc-provider pipeline, and the provider's grant.success events. */
  let enteredPipeline: string[] = [];
  const successes: string[] = [];

  beforeAll(async () => {
    for (const running of [fast, pipeline]) {
      for (const client of CLIENTS) await running.server.application.clients.create(client);
      await running.server.application.clients.create({
        clientId: 'fast-key',
        name: 'Key',
        grantTypes: ['client_credentials'],
        scopes: ['api:read'],
        authMethod: 'private_key_jwt',
        jwks: { keys: [{ ...keyClientJwk, alg: 'EdDSA', use: 'sig' }] },
      });
    }
    enteredPipeline = pipelineEntries(fast.server);
    fast.server.application.provider.on('grant.success', (ctx) => successes.push(String(ctx.oidc.params?.grant_type)));
  });

  test.each(VARIANTS.map((variant) => [variant.name, variant] as const))('%s: the same answer with and without the fast path', async (_name, variant) => {
    enteredPipeline.length = 0;
    const withFastPath = await send(fast.server, variant);
    const withoutFastPath = await send(pipeline.server, variant);
    expect(withFastPath).toEqual(withoutFastPath);
    expect(enteredPipeline.length === 0).toBe(variant.fast);
  });

  test('the plain request is served by the fast path, and it answers with a token', async () => {
    const answer = await send(fast.server, VARIANTS[1] as Variant);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ access_token: '<token>', expires_in: 3600, scope: 'api:read', token_type: 'Bearer' });
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
  });

  test('a fast-path token introspects like a pipeline token, is revocable, and is counted as issued', async () => {
    successes.length = 0;
    const claims: Record<string, unknown>[] = [];
    for (const running of [fast, pipeline]) {
      const issuer = running.server.baseUrl;
      const headers = { 'content-type': FORM, authorization: basic('fast-roles', 'roles-secret-0123456789') };
      const issued = (await (await fetch(`${issuer}/token`, { method: 'POST', headers, body: 'grant_type=client_credentials&scope=api%3Aread' })).json()) as { access_token: string };
      const introspect = async () => (await (await fetch(`${issuer}/token/introspection`, { method: 'POST', headers, body: `token=${issued.access_token}` })).json()) as Record<string, unknown>;
      const active = await introspect();
      expect(active.active).toBe(true);
      const { iat, exp, ...stable } = active;
      expect(Number(exp) - Number(iat)).toBe(3600);
      claims.push({ ...stable, iss: String(stable.iss).replace(issuer, ''), aud: String(stable.aud).replace(issuer, '') });
      const revoked = await fetch(`${issuer}/token/revocation`, { method: 'POST', headers, body: `token=${issued.access_token}` });
      expect(revoked.status).toBe(200);
      expect(await introspect()).toEqual({ active: false });
    }
    expect(claims[0]).toEqual(claims[1]);
    expect(claims[0]).toMatchObject({ client_id: 'fast-roles', sub: 'fast-roles', roles: ['reporting'], scope: 'api:read', token_type: 'Bearer' });
    // The fast-path server's provider saw the issuance as it sees its pipeline's: metrics count from this event.
    expect(successes).toEqual(['client_credentials']);
  });
});

describe('client-credentials fast path while the database is out of reach', () => {
  const own = serverOnOwnDatabase();

  test('a plain request is answered 503 temporarily_unavailable by the fast path itself, then tokens again', async () => {
    const request = () =>
      fetch(`${own.server.baseUrl}/token`, { method: 'POST', headers: { 'content-type': FORM, authorization: demo }, body: 'grant_type=client_credentials' });
    expect((await request()).status).toBe(200);
    const entered = pipelineEntries(own.server);
    await own.ferret.halt();
    try {
      const refused = await request();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      // Not tried a second time through oidc-provider's pipeline, which would wait on the database again.
      expect(entered).toEqual([]);
    } finally {
      await own.ferret.resume();
    }
    expect((await answerAfterReconnect(request)).status).toBe(200);
  }, 120_000);
});
