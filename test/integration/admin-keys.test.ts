import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { STORE_KINDS, testServer } from '../support/server.js';

type Key = { kid: string; alg: string; state: string; public_jwk: Record<string, unknown> };

describe.each(STORE_KINDS)('admin API signing keys on the %s store', (storeKind) => {
  const running = testServer({ store: storeKind, env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
  const admin = (method: string, path: string, options?: Parameters<typeof adminRequest>[3]) => adminRequest(running.server.adminUrl ?? '', method, path, options);

  test('lists public halves only; rotation publishes a new key at once, in JWKS, without a restart', async () => {
    const before = (await admin('GET', '/keys')).body as Key[];
    expect(before.some((key) => key.alg === 'EdDSA' && key.state === 'signing')).toBe(true);
    for (const key of before) expect(key.public_jwk).not.toHaveProperty('d');

    const rotated = await admin('POST', '/keys/rotate', { body: { alg: 'EdDSA' } });
    expect(rotated.status).toBe(201);
    const created = rotated.body as Key;
    expect(created).toMatchObject({ alg: 'EdDSA' });
    expect(created.public_jwk).not.toHaveProperty('d');
    expect(((await admin('GET', '/keys')).body as Key[]).map((key) => key.kid)).toContain(created.kid);
    const jwks = (await (await fetch(`${running.server.baseUrl}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(created.kid);

    const events = (await admin('GET', '/audit-events?action=admin.keys.rotated')).body as { details: { kid: string } }[];
    expect(events[0]?.details.kid).toBe(created.kid);
  });

  test('an unknown algorithm is 400 naming the field; no token is 401', async () => {
    const response = await admin('POST', '/keys/rotate', { body: { alg: 'HS256' } });
    expect(response.status).toBe(400);
    expect(Object.keys((response.body as { fields: object }).fields)).toEqual(['alg']);
    expect((await admin('GET', '/keys', { token: null })).status).toBe(401);
  });
});
