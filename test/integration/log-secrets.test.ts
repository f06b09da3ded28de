import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { buildProject } from '../support/build.js';
import { DEMO, postForm, startTestServer, TEST_MASTER_KEY, type TestServer } from '../support/server.js';

/**
 * Runs every flow this build has (client credentials, introspection, revocation, the admin API, the CLI),
 * successes and failures, at the most verbose log level, collecting each secret it used; then no log
 * line may contain any of them.
 */
describe('logs never contain a secret', () => {
  let server: TestServer;
  const secrets = new Set<string>([DEMO.secret, TEST_ADMIN_TOKEN, TEST_MASTER_KEY]);
  const keep = (value: unknown): string => {
    if (typeof value !== 'string' || value.length < 8) throw new Error(`expected a secret, got ${String(value)}`);
    secrets.add(value);
    return value;
  };

  beforeAll(async () => {
    await buildProject();
    server = await startTestServer({ store: 'mongodb', env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'trace' } });
  }, 240_000);
  afterAll(async () => {
    await server.close();
  });

  test('after every flow, no captured line contains any secret used', async () => {
    const adminUrl = server.adminUrl ?? '';
    const tokenUrl = `${server.baseUrl}/token`;

    // Client credentials: basic and post, good and wrong secrets.
    const basic = keep((await postForm(tokenUrl, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO)).body.access_token);
    const post = keep((await postForm(tokenUrl, { grant_type: 'client_credentials', client_id: DEMO.id, client_secret: DEMO.secret })).body.access_token);
    const wrongSecret = keep('wrong-secret-value-1234567890');
    expect((await postForm(tokenUrl, { grant_type: 'client_credentials' }, { id: DEMO.id, secret: wrongSecret })).status).toBe(401);
    // A secret in a query string must not reach the request log either.
    await fetch(`${server.baseUrl}/token?client_secret=${encodeURIComponent(DEMO.secret)}&access_token=${encodeURIComponent(basic)}`);

    // Introspection and revocation (RFC 7662 / 7009), including of another client's token.
    expect((await postForm(`${tokenUrl}/introspection`, { token: basic }, DEMO)).body.active).toBe(true);
    expect((await postForm(`${tokenUrl}/revocation`, { token: post }, DEMO)).status).toBe(200);

    // The admin API: create, rotate, introspect, revoke, with right and wrong admin tokens.
    const created = (await adminRequest(adminUrl, 'POST', '/clients', { body: { name: 'Scanned', grant_types: ['client_credentials'], scopes: ['api:read'] } })).body as Record<string, string>;
    const clientId = created.client_id as string;
    keep(created.client_secret);
    const rotated = keep(((await adminRequest(adminUrl, 'POST', `/clients/${clientId}/secret`)).body as Record<string, string>).client_secret);
    const partnerToken = keep((await postForm(tokenUrl, { grant_type: 'client_credentials' }, { id: clientId, secret: rotated })).body.access_token);
    expect(((await adminRequest(adminUrl, 'POST', '/tokens/introspect', { body: { token: partnerToken } })).body as { active: boolean }).active).toBe(true);
    expect((await adminRequest(adminUrl, 'POST', '/tokens/revoke', { body: { token: partnerToken } })).status).toBe(200);
    const wrongAdminToken = keep('wrong-admin-token-abcdefghijklmnopqrstuvwxyz');
    expect((await adminRequest(adminUrl, 'GET', '/clients', { token: wrongAdminToken })).status).toBe(401);

    // Users: created through the admin API, signing in with the password grant; the seeded demo user (TOTP
    // enrolled) gets an mfa_token, spent on a wrong code.
    const userPassword = keep('log-scan password 8f2c91d4');
    const userEmail = 'scanned-user@example.com';
    expect((await adminRequest(adminUrl, 'POST', '/users', { body: { email: userEmail, password: userPassword } })).status).toBe(201);
    const userTokens = (await postForm(tokenUrl, { grant_type: 'password', username: userEmail, password: userPassword, scope: 'api:read offline_access' }, DEMO)).body;
    keep(userTokens.access_token);
    expect((await postForm(tokenUrl, { grant_type: 'password', username: userEmail, password: keep('wrong user password 123') }, DEMO)).status).toBe(400);
    const demoPassword = keep(server.config.demo.userPassword);
    const mfaToken = keep((await postForm(tokenUrl, { grant_type: 'password', username: server.config.demo.userEmail, password: demoPassword }, DEMO)).body.mfa_token);
    expect((await postForm(tokenUrl, { grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfaToken, otp: '000000' }, DEMO)).status).toBe(400);

    // The CLI, as an operator runs it.
    const cliEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AUTHTOKEN_ADMIN_URL: adminUrl, AUTHTOKEN_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
    const cli = (args: string[]) => promisify(execFile)('node_modules/.bin/node', ['bin/authtoken.js', ...args], { env: cliEnv, timeout: 60_000 });
    const cliCreated = JSON.parse((await cli(['client', 'create', '--name', 'CLI', '--grant', 'client_credentials', '--scope', 'api:read', '--json'])).stdout) as Record<string, string>;
    keep(cliCreated.client_secret);
    keep((JSON.parse((await cli(['client', 'rotate-secret', cliCreated.client_id as string, '--json'])).stdout) as Record<string, string>).client_secret);
    // `--` ends the options: a token may begin with `-` (base64url).
    await cli(['token', 'introspect', '--json', '--', basic]);
    await cli(['token', 'revoke', '--', basic]);
    const cliUserPassword = keep('cli user password 4d1e77a0');
    await new Promise<void>((resolve, reject) => {
      const child = execFile('node_modules/.bin/node', ['bin/authtoken.js', 'user', 'create', '--email', 'cli-scanned@example.com'], { env: cliEnv, timeout: 60_000 }, (error) => (error ? reject(error) : resolve()));
      child.stdin?.end(`${cliUserPassword}\n`);
    });

    // The scan looked at the flows' own lines (one request line each at least).
    for (const path of ['"/users"', '"/token"', '"/token/introspection"', '"/token/revocation"', '"/clients"', '"/tokens/introspect"', '"/tokens/revoke"']) {
      expect({ path, logged: server.logs.text.includes(`"path":${path}`) }).toEqual({ path, logged: true });
    }
    const leaks = [...secrets].flatMap((secret) =>
      server.logs.lines.filter((line) => line.includes(secret)).map((line) => ({ secret: `${secret.slice(0, 4)}…`, line })),
    );
    expect(leaks).toEqual([]);
  });
});
