import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { MongoClient } from 'mongodb';

import { StoreAdapter } from '../../src/provider/adapter.js';
import { createTestAccount, DEMO_REDIRECT_URI, issueAuthorizationCode } from '../support/authorization-code.js';
import { DEMO, postForm, startTestServer, testMongoUri, type TestServer } from '../support/server.js';

/** Every document of every collection of the database, as text: what someone with a dump would read. */
async function dumpDatabase(databaseName: string): Promise<string> {
  const client = new MongoClient(testMongoUri());
  try {
    const db = client.db(databaseName);
    const collections = await db.listCollections({}, { nameOnly: true }).toArray();
    const parts: string[] = [];
    for (const { name } of collections) parts.push(name, JSON.stringify(await db.collection(name).find({}).toArray()));
    return parts.join('\n');
  } finally {
    await client.close();
  }
}

/**
 * Issue 3 item 2: a database dump yields no usable token. Real tokens are issued over HTTP (client
 * credentials, an authorization code exchanged for access and refresh tokens, a refresh rotation) and
 * session / device records are written through the adapter the provider uses; then every collection is
 * dumped and searched for each value. On the MongoDB store only: the memory store has nothing at rest.
 * The same data must survive a restart.
 */
describe('nothing usable at rest (MongoDB store)', () => {
  let server: TestServer;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer({ store: 'mongodb' });
  });
  afterAll(async () => {
    await server.close();
  });

  test('a dump of every collection contains no token, code, secret or session id, and a restart loses none of them', async () => {
    const clientCredentials = await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
    expect(clientCredentials.status).toBe(200);
    secrets.clientCredentialsToken = String(clientCredentials.body.access_token);
    secrets.demoClientSecret = DEMO.secret;
    secrets.accountPassword = 'correct horse battery staple';

    const app = await server.application.clients.create({
      name: 'at-rest app',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['api:read'],
      redirectUris: [DEMO_REDIRECT_URI],
    });
    const appAuth = { id: app.clientId, secret: app.clientSecret as string };
    secrets.appClientSecret = appAuth.secret;
    const verifier = randomBytes(32).toString('base64url');
    const code = await issueAuthorizationCode(server.application.provider, {
      clientId: app.clientId,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      scope: 'openid offline_access',
      accountId: await createTestAccount(server.application),
    });
    secrets.authorizationCode = code;
    secrets.codeVerifier = verifier;
    const exchanged = await postForm(
      `${server.baseUrl}/token`,
      { grant_type: 'authorization_code', code, redirect_uri: DEMO_REDIRECT_URI, code_verifier: verifier },
      appAuth,
    );
    expect(exchanged.status).toBe(200);
    secrets.firstRefreshToken = String(exchanged.body.refresh_token);
    secrets.codeAccessToken = String(exchanged.body.access_token);
    const refreshed = await postForm(
      `${server.baseUrl}/token`,
      { grant_type: 'refresh_token', refresh_token: secrets.firstRefreshToken },
      appAuth,
    );
    expect(refreshed.status).toBe(200);
    secrets.refreshedAccessToken = String(refreshed.body.access_token);
    secrets.secondRefreshToken = String(refreshed.body.refresh_token);

    const sessionId = randomBytes(32).toString('base64url');
    await new StoreAdapter('Session', server.store, server.application.secrets).upsert(
      sessionId,
      { jti: sessionId, kind: 'Session', uid: randomUUID(), accountId: 'account-1', loginTs: Math.floor(Date.now() / 1000) },
      600,
    );
    secrets.sessionId = sessionId;
    const deviceCode = randomBytes(32).toString('base64url');
    await new StoreAdapter('DeviceCode', server.store, server.application.secrets).upsert(
      deviceCode,
      { jti: deviceCode, kind: 'DeviceCode', userCode: 'QWRT-ZXCV', clientId: app.clientId, grantId: randomUUID() },
      600,
    );
    secrets.deviceCode = deviceCode;
    secrets.userCode = 'QWRT-ZXCV';

    const databaseName = server.config.mongodb?.dbName as string;
    const dump = await dumpDatabase(databaseName);
    // The dump is not trivially empty: it holds the records of everything above.
    for (const collection of ['oidc_AccessToken', 'oidc_ClientCredentials', 'oidc_AuthorizationCode', 'oidc_RefreshToken', 'oidc_Grant', 'oidc_Session', 'oidc_DeviceCode', 'oidc_Client']) {
      expect(dump).toContain(collection);
    }
    expect(dump).toContain(app.clientId);
    for (const [name, value] of Object.entries(secrets)) {
      expect({ name, found: dump.includes(value) }).toEqual({ name, found: false });
    }

    // Restart on the same database and master key: the tokens are still there and still work.
    const port = Number(new URL(server.baseUrl).port);
    await server.close();
    server = await startTestServer({ store: 'mongodb', databaseName, port });
    for (const token of [secrets.clientCredentialsToken, secrets.refreshedAccessToken]) {
      const introspection = await postForm(`${server.baseUrl}/token/introspection`, { token: token as string }, token === secrets.clientCredentialsToken ? DEMO : appAuth);
      expect(introspection.body).toMatchObject({ active: true });
    }
    const again = await postForm(`${server.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: secrets.secondRefreshToken as string }, appAuth);
    expect(again.status).toBe(200);
    expect(await new StoreAdapter('Session', server.store, server.application.secrets).find(sessionId)).toMatchObject({ accountId: 'account-1' });
  });
});
