import { generateKeyPairSync } from 'node:crypto';

import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

import { createApplication } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { DEMO, postForm, startTestServer, STORE_KINDS, type TestServer, testServer } from '../support/server.js';

// Short enough for a test, and still in the required order: JWKS cache (0) + poll (1) < publish delay (2).
const ENV = {
  ACCESS_TOKEN_FORMAT: 'jwt',
  JWKS_CACHE_MAX_AGE_SECONDS: '0',
  SIGNING_KEY_POLL_INTERVAL_SECONDS: '1',
  SIGNING_KEY_PUBLISH_DELAY_SECONDS: '2',
};

/** Bounded wait for a condition the server reaches on its own (key activation, another instance's poll). */
async function eventually<T>(attempt: () => Promise<T | undefined>, what: string, limitMs = 20000): Promise<T> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const result = await attempt();
    if (result !== undefined) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function fetchJwks(server: TestServer): Promise<JSONWebKeySet> {
  return (await (await fetch(`${server.baseUrl}/jwks`)).json()) as JSONWebKeySet;
}

async function issueJwt(server: TestServer): Promise<string> {
  const response = await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
  expect(response.status).toBe(200);
  return String(response.body.access_token);
}

const kidOf = (jwt: string) => String(decodeProtectedHeader(jwt).kid);
const kids = (jwks: JSONWebKeySet) => jwks.keys.map((key) => String(key.kid));

describe.each(STORE_KINDS)('signing key rotation without a restart on the %s store', (storeKind) => {
  const running = testServer({ store: storeKind, env: ENV });

  test('a new key is published first, signs after the delay; old tokens keep verifying; no token names an unpublished key', async () => {
    const before = await fetchJwks(running.server);
    const oldToken = await issueJwt(running.server);
    const oldKid = kidOf(oldToken);
    expect(kids(before)).toContain(oldKid);

    const rotated = await running.server.application.signingKeys.rotateSigningKeys('EdDSA');
    expect(rotated).toMatchObject({ alg: 'EdDSA', state: 'published' });
    expect(rotated.kid).not.toBe(oldKid);
    const published = await fetchJwks(running.server);
    expect(kids(published)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
    for (const key of published.keys) expect(key).not.toHaveProperty('d');

    // Issue until the new key signs. Every token must name a key that was in JWKS before it was issued,
    // and no token completed before the activation instant may carry the new key.
    const newToken = await eventually(async () => {
      const jwksBefore = await fetchJwks(running.server);
      const jwt = await issueJwt(running.server);
      const issuedBy = Date.now();
      expect(kids(jwksBefore)).toContain(kidOf(jwt));
      if (issuedBy < rotated.activatesAt.getTime()) expect(kidOf(jwt)).toBe(oldKid);
      return kidOf(jwt) === rotated.kid ? jwt : undefined;
    }, 'the new key to sign');

    const current = createLocalJWKSet(await fetchJwks(running.server));
    await expect(jwtVerify(oldToken, current, { issuer: running.server.config.issuer, typ: 'at+jwt' })).resolves.toBeDefined();
    await expect(jwtVerify(newToken, current, { issuer: running.server.config.issuer, typ: 'at+jwt' })).resolves.toBeDefined();
    const introspection = await postForm(`${running.server.baseUrl}/token/introspection`, { token: oldToken }, DEMO);
    expect(introspection.body).toMatchObject({ active: true, jti: decodeJwt(oldToken).jti });

    const listed = await running.server.application.signingKeys.listSigningKeys();
    const oldKey = listed.find((key) => key.kid === oldKid);
    const newKey = listed.find((key) => key.kid === rotated.kid);
    expect(newKey?.state).toBe('signing');
    expect(oldKey?.state).toBe('retired');
    // The old key stays published until every token it signed has expired.
    expect(oldKey?.unpublishedAt?.getTime()).toBeGreaterThanOrEqual(rotated.activatesAt.getTime() + running.server.config.ttl.accessToken * 1000);
    expect(listed.some((key) => key.alg === 'RS256' && key.state === 'signing')).toBe(true);
  });

  test('JWKS responses say how long they may be cached', async () => {
    const response = await fetch(`${running.server.baseUrl}/jwks`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=0');
  });
});

describe('rotation reaches every instance sharing the MongoDB store', () => {
  test('a second instance publishes and then signs with the key the first one created', async () => {
    const first = await startTestServer({ store: 'mongodb', env: ENV });
    // Instances behind one load balancer share the issuer and the database.
    const second = await startTestServer({
      store: 'mongodb',
      env: { ...ENV, ISSUER: first.config.issuer },
      databaseName: first.config.mongodb?.dbName,
    });
    try {
      const rotated = await first.application.signingKeys.rotateSigningKeys('EdDSA');
      await eventually(async () => (kids(await fetchJwks(second)).includes(rotated.kid) ? true : undefined), 'the second instance to publish the key');
      const signedBySecond = await eventually(async () => {
        const jwt = await issueJwt(second);
        return kidOf(jwt) === rotated.kid ? jwt : undefined;
      }, 'the second instance to sign with the new key');
      // A token from one instance introspects at the other.
      const introspection = await postForm(`${first.baseUrl}/token/introspection`, { token: signedBySecond }, DEMO);
      expect(introspection.body.active).toBe(true);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('signing keys from configuration (SIGNING_KEYS)', () => {
  const operatorKey = (kid: string, alg: 'EdDSA' | 'RS256') => {
    const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid, alg };
  };

  test.each(STORE_KINDS)('on a fresh %s store the supplied key signs at once, is stored encrypted and published without its private part', async (storeKind) => {
    const key = operatorKey('operator-ed-1', 'EdDSA');
    const server = await startTestServer({ store: storeKind, env: { ...ENV, SIGNING_KEYS: JSON.stringify({ keys: [key] }) } });
    try {
      const jwt = await issueJwt(server);
      expect(kidOf(jwt)).toBe('operator-ed-1');
      const published = (await fetchJwks(server)).keys.find((entry) => entry.kid === 'operator-ed-1');
      expect(published).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: key.x });
      expect(published).not.toHaveProperty('d');
      const stored = await server.store.collection('signing_keys').findOne({ _id: 'operator-ed-1' });
      expect(JSON.stringify(stored)).not.toContain(String(key.d));
    } finally {
      await server.close();
    }
  });

  test('a key added to SIGNING_KEYS later is a rotation: published first, signing after the delay', async () => {
    const first = await startTestServer({ store: 'mongodb', env: ENV });
    const databaseName = first.config.mongodb?.dbName;
    const port = Number(new URL(first.baseUrl).port);
    const generatedKid = kidOf(await issueJwt(first));
    await first.close();
    const key = operatorKey('operator-ed-2', 'EdDSA');
    const restarting = Date.now();
    const second = await startTestServer({ store: 'mongodb', databaseName, port, env: { ...ENV, SIGNING_KEYS: JSON.stringify({ keys: [key] }) } });
    try {
      expect(kids(await fetchJwks(second))).toEqual(expect.arrayContaining([generatedKid, 'operator-ed-2']));
      // Its activation is what says it was published before signing: a start slower than the 2 s delay (a
      // loaded machine) found it already signing when its state was read after the start.
      const supplied = (await second.application.signingKeys.listSigningKeys()).find((entry) => entry.kid === 'operator-ed-2');
      expect(supplied?.state).not.toBe('retired');
      expect(supplied?.activatesAt.getTime()).toBeGreaterThanOrEqual(restarting + Number(ENV.SIGNING_KEY_PUBLISH_DELAY_SECONDS) * 1000);
      await eventually(async () => (kidOf(await issueJwt(second)) === 'operator-ed-2' ? true : undefined), 'the supplied key to sign');
    } finally {
      await second.close();
    }
  });

  test('a key that does not fit its algorithm stops the start with a message naming SIGNING_KEYS', async () => {
    const wrong = { ...operatorKey('operator-wrong', 'RS256'), alg: 'EdDSA' };
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', SIGNING_KEYS: JSON.stringify({ keys: [wrong] }) });
    const store = new MemoryStore();
    try {
      await expect(createApplication(config, store, createLogger('silent'))).rejects.toThrow(/SIGNING_KEYS: key operator-wrong does not fit EdDSA/);
    } finally {
      await store.close();
    }
  });
});
