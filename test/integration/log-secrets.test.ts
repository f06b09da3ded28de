import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { MFA_OTP_GRANT_TYPE } from '../../src/provider/index.js';
import { adminRequest, TEST_ADMIN_TOKEN } from '../support/admin.js';
import { buildProject } from '../support/build.js';
import { createCustomer, totpCode } from '../support/dashboard.js';
import { DEMO_APP_CALLBACK, demoAppAuthorizationUrl, followToDemoApp, submitToDemoApp } from '../support/demo-app.js';
import { PageClient } from '../support/page-client.js';
import { DEMO, postForm, startTestServer, TEST_MASTER_KEY, type TestServer } from '../support/server.js';

/**
 * Runs every flow this build has (client credentials, the password grant, the code flow through the sign-in
 * pages, refresh, introspection, revocation, the admin API, the CLI), successes and failures, at the most verbose log level, collecting each secret it used; then no log
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

    // The code flow through the pages (password, a wrong and then a right authenticator code, consent), the code
    // with a wrong and then the right verifier, a refresh, the code and the spent refresh token replayed, revocation.
    const person = await createCustomer(server, { totp: true });
    keep(person.password);
    const verifier = keep(randomBytes(32).toString('base64url'));
    const browser = new PageClient(server.baseUrl);
    const authorization = demoAppAuthorizationUrl(server.baseUrl, DEMO_APP_CALLBACK, {
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      scope: 'openid offline_access api:read',
      prompt: 'consent',
    });
    const { page: login } = await followToDemoApp(browser, await browser.request(authorization));
    const { page: secondFactor } = await submitToDemoApp(browser, login, /\/login$/, { username: person.email, password: person.password });
    const { page: retry } = await submitToDemoApp(browser, secondFactor, /\/mfa$/, { method: 'totp', code: '000000' });
    const verified = await submitToDemoApp(browser, retry, /\/mfa$/, { method: 'totp', code: await totpCode(person.totpSecret ?? '') });
    const { callback } = verified.callback ? verified : await submitToDemoApp(browser, verified.page, /\/consent$/, { decision: 'allow' });
    const exchange = { grant_type: 'authorization_code', client_id: 'demo-app', code: keep(callback?.searchParams.get('code')), redirect_uri: DEMO_APP_CALLBACK };
    expect((await postForm(tokenUrl, { ...exchange, code_verifier: keep(randomBytes(32).toString('base64url')) })).status).toBe(400);
    const codeTokens = (await postForm(tokenUrl, { ...exchange, code_verifier: verifier })).body;
    for (const name of ['access_token', 'refresh_token', 'id_token']) keep(codeTokens[name]);
    const refresh = { grant_type: 'refresh_token', client_id: 'demo-app', refresh_token: String(codeTokens.refresh_token) };
    const refreshed = (await postForm(tokenUrl, refresh)).body;
    keep(refreshed.access_token);
    const rotatedRefreshToken = keep(refreshed.refresh_token);
    expect((await postForm(tokenUrl, { ...exchange, code_verifier: verifier })).status).toBe(400);
    expect((await postForm(tokenUrl, refresh)).status).toBe(400);
    expect((await postForm(`${tokenUrl}/revocation`, { client_id: 'demo-app', token: rotatedRefreshToken })).status).toBe(200);

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
    for (const path of ['"/users"', '"/auth"', '"/token"', '"/token/introspection"', '"/token/revocation"', '"/clients"', '"/tokens/introspect"', '"/tokens/revoke"']) {
      expect({ path, logged: server.logs.text.includes(`"path":${path}`) }).toEqual({ path, logged: true });
    }
    const leaks = [...secrets].flatMap((secret) =>
      server.logs.lines.filter((line) => line.includes(secret)).map((line) => ({ secret: `${secret.slice(0, 4)}…`, line })),
    );
    expect(leaks).toEqual([]);
  });
});
