import { randomBytes } from 'node:crypto';

import { DEMO, postForm, startTestServer, type TestServer } from '../support/server.js';

const PASSWORD = 'correct horse battery staple';

describe('policies that demand a second factor the account does not have yet', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  async function serverWith(env: Record<string, string> = {}): Promise<TestServer> {
    const server = await startTestServer({ store: 'memory', env });
    servers.push(server);
    return server;
  }

  async function passwordGrant(server: TestServer, email: string) {
    return postForm(`${server.baseUrl}/token`, { grant_type: 'password', username: email, password: PASSWORD, scope: 'api:read' }, DEMO);
  }

  test('an operator requiring enrollment stops password-only tokens until the person enrolls', async () => {
    const server = await serverWith();
    const email = `p-${randomBytes(4).toString('hex')}@example.com`;
    const account = await server.application.accounts.create({ email, password: PASSWORD });
    expect((await passwordGrant(server, email)).status).toBe(200);

    await server.application.accounts.requireMfaEnrollment(account.customerId, true);
    const refused = await passwordGrant(server, email);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');

    await server.application.accounts.requireMfaEnrollment(account.customerId, false);
    expect((await passwordGrant(server, email)).status).toBe(200);
  });

  test('REQUIRE_MFA=true refuses password-only tokens for every account without a factor', async () => {
    const server = await serverWith({ REQUIRE_MFA: 'true' });
    const email = `p-${randomBytes(4).toString('hex')}@example.com`;
    await server.application.accounts.create({ email, password: PASSWORD });
    const refused = await passwordGrant(server, email);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
  });
});
