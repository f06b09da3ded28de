import { postForm, startTestServer, STORE_KINDS, type TestServer, testServer } from '../support/server.js';

async function createPartner(server: TestServer): Promise<{ id: string; secret: string }> {
  const created = await server.application.clients.create({ name: 'partner', grantTypes: ['client_credentials'], scopes: ['api:read'] });
  return { id: created.clientId, secret: created.clientSecret as string };
}

const requestToken = (server: TestServer, client: { id: string; secret: string }) =>
  postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, client);

describe.each(STORE_KINDS)('client cache on the %s store', (storeKind) => {
  const running = testServer({ store: storeKind });

  test('a removed client stops working on this instance at once, cached or not', async () => {
    const partner = await createPartner(running.server);
    expect((await requestToken(running.server, partner)).status).toBe(200);
    expect((await requestToken(running.server, partner)).status).toBe(200);
    expect(await running.server.application.clients.delete(partner.id)).toBe(true);
    const refused = await requestToken(running.server, partner);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  test('after a secret rotation the old secret is refused at once and the new one works, cached or not', async () => {
    const partner = await createPartner(running.server);
    expect((await requestToken(running.server, partner)).status).toBe(200);
    const rotated = await running.server.application.clients.rotateSecret(partner.id);
    if (!rotated || rotated === 'no-secret') throw new Error('rotation failed');
    expect((await requestToken(running.server, partner)).status).toBe(401);
    expect((await requestToken(running.server, { id: partner.id, secret: rotated.clientSecret })).status).toBe(200);
  });

  test('a scope removed by an update is refused at once', async () => {
    const partner = await createPartner(running.server);
    expect((await requestToken(running.server, partner)).status).toBe(200);
    await running.server.application.clients.update(partner.id, { scopes: ['api:write'] });
    const refused = await requestToken(running.server, partner);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_scope');
  });

  test('a wrong secret is refused even when the client is cached', async () => {
    const partner = await createPartner(running.server);
    expect((await requestToken(running.server, partner)).status).toBe(200);
    expect((await requestToken(running.server, { id: partner.id, secret: `${partner.secret}x` })).status).toBe(401);
  });

  test('an unknown client id is not cached: a client created after a failed attempt works at once', async () => {
    const id = `late-${Date.now()}`;
    expect((await requestToken(running.server, { id, secret: 'whatever-secret' })).status).toBe(401);
    const created = await running.server.application.clients.create({
      clientId: id,
      name: 'late',
      grantTypes: ['client_credentials'],
      scopes: ['api:read'],
      secret: 'late-client-secret',
    });
    expect((await requestToken(running.server, { id: created.clientId, secret: 'late-client-secret' })).status).toBe(200);
  });
});

describe('client cache across instances sharing one MongoDB database', () => {
  test('another instance stops accepting a removed client within its cache TTL; with the cache off, at once', async () => {
    const first = await startTestServer({ store: 'mongodb' });
    const databaseName = first.config.mongodb?.dbName as string;
    const cached = await startTestServer({ store: 'mongodb', databaseName, env: { CLIENT_CACHE_TTL_MS: '1000' } });
    const uncached = await startTestServer({ store: 'mongodb', databaseName, env: { CLIENT_CACHE_TTL_MS: '0' } });
    try {
      const partner = await createPartner(first);
      expect((await requestToken(cached, partner)).status).toBe(200);
      expect((await requestToken(uncached, partner)).status).toBe(200);
      await first.application.clients.delete(partner.id);

      expect((await requestToken(uncached, partner)).status).toBe(401);
      // Bounded poll: the cached instance must refuse once its TTL has run out.
      let status = (await requestToken(cached, partner)).status;
      for (let attempt = 0; attempt < 50 && status !== 401; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await requestToken(cached, partner)).status;
      }
      expect(status).toBe(401);
    } finally {
      await Promise.all([first.close(), cached.close(), uncached.close()]);
    }
  });
});
