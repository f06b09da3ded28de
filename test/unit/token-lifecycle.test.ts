import { randomBytes } from 'node:crypto';

import { ConfigError, loadConfig } from '../../src/config/index.js';
import { listSigningKeys, requiredRole, rotateSigningKey } from '../../src/provider/index.js';
import { ensureSigningKeys, openSigningKeySet, readSigningKeyDocuments } from '../../src/provider/signing-keys.js';
import { refreshTokenTtl } from '../../src/provider/refresh-tokens.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import { MemoryStore } from '../../src/store/index.js';
import { JwtRevocationList } from '../../src/tokens/index.js';

describe('token lifecycle configuration', () => {
  test('RESOURCE_SERVERS adds APIs beside the default one, which keeps its own variables', () => {
    const config = loadConfig({
      ACCESS_TOKEN_FORMAT: 'jwt',
      RESOURCE_SERVERS: JSON.stringify([
        { identifier: 'https://reports.example/api', scopes: ['reports:read'], signingAlg: 'ES256' },
        { identifier: 'https://ledger.example/api', scopes: ['ledger:read'], accessTokenTtl: 900 },
      ]),
    });
    // No accessTokenTtl: the token kind's own lifetime (ACCESS_TOKEN_TTL or CLIENT_CREDENTIALS_TTL) applies.
    expect(config.resourceServers).toEqual([
      { identifier: 'http://localhost:3000/api', scopes: ['api:read', 'api:write'], format: 'jwt', signingAlg: 'EdDSA' },
      { identifier: 'https://reports.example/api', scopes: ['reports:read'], format: 'opaque', signingAlg: 'ES256' },
      { identifier: 'https://ledger.example/api', scopes: ['ledger:read'], format: 'opaque', accessTokenTtl: 900, signingAlg: 'EdDSA' },
    ]);
  });

  test('bad token settings are refused naming the variable', () => {
    expect(() => loadConfig({ RESOURCE_SERVERS: '[{' })).toThrow(/^RESOURCE_SERVERS: not valid JSON/);
    expect(() => loadConfig({ RESOURCE_SERVERS: '[{"identifier":"not a url","scopes":["a"]}]' })).toThrow(/^RESOURCE_SERVERS: 0.identifier/);
    expect(() => loadConfig({ RESOURCE_SERVERS: '[{"identifier":"https://a.example","scopes":["a"],"signingAlg":"HS256"}]' })).toThrow(ConfigError);
    expect(() => loadConfig({ ACCESS_TOKEN_SIGNING_ALG: 'none' })).toThrow(/^ACCESS_TOKEN_SIGNING_ALG: /);
    // accessTokenTtl: a JSON number, or one quoted as deployments may hold it, in range and whole.
    const ttlOf = (value: unknown) =>
      loadConfig({ RESOURCE_SERVERS: JSON.stringify([{ identifier: 'https://a.example', scopes: ['a'], accessTokenTtl: value }]) }).resourceServers[1]?.accessTokenTtl;
    expect(ttlOf('900')).toBe(900);
    for (const wrong of ['15m', 30, 90.5, '1e3']) expect(() => ttlOf(wrong)).toThrow(/^RESOURCE_SERVERS: 0.accessTokenTtl/);
    expect(() => loadConfig({ SCOPE_ROLE_REQUIREMENTS: '{"admin:*": 3}' })).toThrow(/^SCOPE_ROLE_REQUIREMENTS: /);
    expect(() => loadConfig({ REFRESH_TOKEN_TTL: '3600', REFRESH_TOKEN_IDLE_TTL: '7200' })).toThrow(/^REFRESH_TOKEN_IDLE_TTL: /);
    expect(() => loadConfig({ SIGNING_KEYS: '{"keys":[{"kid":"k","alg":"EdDSA","kty":"OKP","crv":"Ed25519","x":"AAAA"}]}' })).toThrow(
      /^SIGNING_KEYS: keys.0.d/,
    );
    expect(() => loadConfig({ SIGNING_KEYS: '{"keys":[{"kid":"k","alg":"HS256","kty":"oct","d":"x"}]}' })).toThrow(/^SIGNING_KEYS: /);
  });

  test('a new key may not sign before every JWKS cache and every poll has seen it', () => {
    expect(() =>
      loadConfig({ JWKS_CACHE_MAX_AGE_SECONDS: '300', SIGNING_KEY_POLL_INTERVAL_SECONDS: '30', SIGNING_KEY_PUBLISH_DELAY_SECONDS: '330' }),
    ).toThrow(/^SIGNING_KEY_PUBLISH_DELAY_SECONDS: /);
    expect(loadConfig({}).signingKeys).toEqual({ publishDelaySeconds: 900, pollIntervalSeconds: 30, jwksCacheMaxAgeSeconds: 300 });
  });
});

describe('scope role requirements', () => {
  const requirements = { 'admin:*': 'admin', 'admin:billing': 'billing-admin', 'reports:write': 'reporter' };
  test('an exact entry wins, then the longest prefix pattern', () => {
    expect(requiredRole('admin:billing', requirements)).toBe('billing-admin');
    expect(requiredRole('admin:users', requirements)).toBe('admin');
    expect(requiredRole('reports:write', requirements)).toBe('reporter');
    expect(requiredRole('reports:read', requirements)).toBeUndefined();
  });
});

describe('refresh token lifetimes', () => {
  const ttl = refreshTokenTtl({ absoluteSeconds: 30 * 86400, idleSeconds: 86400 });
  test('the idle lifetime, cut short by the absolute one counted from the first issue', () => {
    const now = Math.floor(Date.now() / 1000);
    expect(ttl(undefined, { iiat: now } as never)).toBe(86400);
    expect(ttl(undefined, { iiat: now - 30 * 86400 + 600 } as never)).toBeGreaterThan(590);
    expect(ttl(undefined, { iiat: now - 30 * 86400 + 600 } as never)).toBeLessThanOrEqual(600);
  });
});

describe('signing key lifecycle', () => {
  const secrets = new ServerSecrets({ id: 'k1', key: randomBytes(32) });
  const timing = { publishDelaySeconds: 900, longestTokenLifetimeSeconds: 3660 };

  test('published, then signing; the predecessor retires at the activation and leaves JWKS after the longest token', async () => {
    const store = new MemoryStore();
    await ensureSigningKeys(store, secrets, ['ES256']);
    const start = new Date();
    const initial = openSigningKeySet(await readSigningKeyDocuments(store), secrets, start);
    expect(Object.keys(initial.signingKid).sort()).toEqual(['ES256', 'EdDSA', 'RS256']);
    const oldKid = initial.signingKid.EdDSA;

    const rotated = await rotateSigningKey(store, secrets, 'EdDSA', timing, start);
    const documents = await readSigningKeyDocuments(store);
    const justAfter = openSigningKeySet(documents, secrets, new Date(start.getTime() + 1000));
    expect(justAfter.signingKid.EdDSA).toBe(oldKid);
    expect(justAfter.privateJwks.map((jwk) => jwk.kid)).toContain(rotated.kid);
    expect(justAfter.version).not.toBe(initial.version);

    const activated = openSigningKeySet(documents, secrets, new Date(start.getTime() + 901_000));
    expect(activated.signingKid.EdDSA).toBe(rotated.kid);
    // oidc-provider takes the first key of an algorithm when no kid is named (ID tokens): the signing one.
    expect(activated.privateJwks.find((jwk) => jwk.kty === 'OKP')?.kid).toBe(rotated.kid);
    expect(activated.version).not.toBe(justAfter.version);

    const listed = await listSigningKeys(store, new Date(start.getTime() + 901_000));
    const old = listed.find((key) => key.kid === oldKid);
    expect(old).toMatchObject({ state: 'retired' });
    expect(old?.unpublishedAt?.getTime()).toBe(start.getTime() + 900_000 + 3_660_000);
    expect(listed.find((key) => key.kid === rotated.kid)?.state).toBe('signing');
    for (const key of listed) expect(key.publicJwk).not.toHaveProperty('d');
    await store.close();
  });
});

describe('JWT revocation list', () => {
  test('single revocations and revoked-before times, one-second resolution failing safe', async () => {
    const store = new MemoryStore();
    const list = new JwtRevocationList(store, 3660);
    const now = Math.floor(Date.now() / 1000);
    const token = { jti: 'j1', iat: now - 10, exp: now + 600, client_id: 'c1', sub: 'u1' };
    expect(await list.isRevoked(token)).toBe(false);
    await list.revokeJwt('j1', token.exp);
    expect(await list.isRevoked(token)).toBe(true);
    expect(await list.isRevoked({ ...token, jti: 'j2' })).toBe(false);

    await list.revokeAccountJwts('u1', new Date(now * 1000));
    expect(await list.isRevoked({ ...token, jti: 'j3' })).toBe(true);
    expect(await list.isRevoked({ ...token, jti: 'j4', iat: now })).toBe(true);
    expect(await list.isRevoked({ ...token, jti: 'j5', iat: now + 1 })).toBe(false);
    // A client-credentials token's subject is its client: an account entry of that name does not touch it.
    await list.revokeAccountJwts('c2', new Date(now * 1000));
    expect(await list.isRevoked({ jti: 'j6', iat: now - 5, exp: now + 600, client_id: 'c2', sub: 'c2' })).toBe(false);
    await list.revokeClientJwts('c2', new Date(now * 1000));
    expect(await list.isRevoked({ jti: 'j7', iat: now - 5, exp: now + 600, client_id: 'c2', sub: 'c2' })).toBe(true);
    await store.close();
  });
});
