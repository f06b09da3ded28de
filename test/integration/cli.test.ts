import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { exportJWK, generateKeyPair } from 'jose';

import { buildProject } from '../support/build.js';
import { TEST_ADMIN_TOKEN } from '../support/admin.js';
import { postForm, startTestServer, type TestServer } from '../support/server.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How many times the text says `phrase`: an error line says each thing once. */
const occurrences = (text: string, phrase: string) => text.split(phrase).length - 1;

/** The machine's own `node` (20 on this machine): the launcher must hand over to the project's Node 24. */
const SYSTEM_NODE = '/usr/bin/node';

function run(command: string, args: string[], env: Record<string, string | undefined>, stdin?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    // A command that exits without reading its input (e.g. `node --version`) closes the pipe first: EPIPE there is expected.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

describe('the authtoken CLI against a running server', () => {
  let server: TestServer;
  let env: Record<string, string>;
  const cli = (args: string[], extraEnv: Record<string, string | undefined> = {}, stdin?: string) =>
    run(SYSTEM_NODE, ['bin/authtoken.js', ...args], { ...env, ...extraEnv }, stdin);

  beforeAll(async () => {
    await buildProject();
    server = await startTestServer({ store: 'memory', env: { ADMIN_TOKEN: TEST_ADMIN_TOKEN } });
    env = { AUTHTOKEN_ADMIN_URL: server.adminUrl ?? '', AUTHTOKEN_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
  }, 240_000);
  afterAll(async () => {
    await server.close();
  });

  test('runs under the system node by handing over to the project Node 24', async () => {
    const version = await run(SYSTEM_NODE, ['--version'], {});
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: authtoken');
    // Holds on this machine, whose node is older than 24; stated so the test cannot pass vacuously.
    expect(Number(version.stdout.trim().slice(1).split('.')[0])).toBeLessThan(24);
  });

  test('`npx authtoken` works from the project directory', async () => {
    const result = await run('npx', ['authtoken', 'client', 'list', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ client_id: 'demo-client' })]));
  });

  test('client create --json prints client_id and client_secret, which get a token', async () => {
    const result = await cli(['client', 'create', '--name', 'CLI partner', '--grant', 'client_credentials', '--scope', 'api:read', '--json']);
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as { client_id: string; client_secret: string; scopes: string[] };
    expect(created.scopes).toEqual(['api:read']);
    const token = await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { id: created.client_id, secret: created.client_secret });
    expect(token.status).toBe(200);
  });

  test('client create --native registers a public native app (RFC 8252): no secret printed, shown as native', async () => {
    const args = ['client', 'create', '--native', '--name', 'Desktop', '--grant', 'authorization_code', '--scope', 'openid', '--redirect-uri', 'http://127.0.0.1/callback'];
    const result = await cli([...args, '--json']);
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(created).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1/callback'] });
    expect(created).not.toHaveProperty('client_secret');
    const shown = await cli(['client', 'get', String(created.client_id)]);
    expect(shown.stdout).toMatch(/^application_type\s+native$/m);
    // A secret is refused for a native app, in one line naming the field.
    const refused = await cli([...args, '--auth-method', 'client_secret_basic']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^authtoken: invalid_request: token_endpoint_auth_method: [^\n]*token_endpoint_auth_method must be none \(RFC 8252 8\.5: a secret shipped in an app is not a secret\)\n$/);
    expect(occurrences(refused.stderr, 'must be none')).toBe(1);
    // The password grant is never a public client's: refused at create and at update, in one line naming the field.
    const withPasswordGrant = await cli([...args, '--password-grant']);
    expect(withPasswordGrant.code).toBe(1);
    expect(withPasswordGrant.stderr).toMatch(/^authtoken: invalid_request: password_grant: [^\n]*public client[^\n]*cannot have password_grant\n$/);
    expect(occurrences(withPasswordGrant.stderr, 'public client')).toBe(1);
    const updated = await cli(['client', 'update', String(created.client_id), '--password-grant']);
    expect(updated.code).toBe(1);
    expect(updated.stderr).toMatch(/^authtoken: invalid_request: password_grant: [^\n]*public client[^\n]*cannot have password_grant\n$/);
    expect(occurrences(updated.stderr, 'public client')).toBe(1);
    expect((await cli(['client', 'get', String(created.client_id)])).stdout).toMatch(/^password_grant\s+false$/m);
  });

  test('client create --auth-method private_key_jwt --jwks FILE registers the public keys; update --jwks replaces them', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'authtoken-cli-'));
    try {
      const keyFile = async (kid: string) => {
        const { publicKey } = await generateKeyPair('ES256');
        const file = join(directory, `${kid}.json`);
        writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256' }] }));
        return file;
      };
      const result = await cli(['client', 'create', '--name', 'Key partner', '--grant', 'client_credentials', '--scope', 'api:read', '--auth-method', 'private_key_jwt', '--jwks', await keyFile('first'), '--json']);
      expect(result.stderr).toBe('');
      const created = JSON.parse(result.stdout) as { client_id: string; client_secret?: string; jwks: { keys: Array<{ kid: string }> } };
      expect(created.client_secret).toBeUndefined();
      expect(created.jwks.keys.map((key) => key.kid)).toEqual(['first']);
      const updated = await cli(['client', 'update', created.client_id, '--jwks', await keyFile('second'), '--json']);
      expect((JSON.parse(updated.stdout) as { jwks: { keys: Array<{ kid: string }> } }).jwks.keys.map((key) => key.kid)).toEqual(['second']);
      const unreadable = await cli(['client', 'update', created.client_id, '--jwks', join(directory, 'missing.json')]);
      expect(unreadable.code).not.toBe(0);
      expect(unreadable.stderr).toContain('cannot read');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('client create --audience --role --web-origin register them; update replaces them, --no-audience --no-role --no-web-origin clear them', async () => {
    const audience = server.config.defaultResource;
    const result = await cli([
      'client', 'create', '--name', 'Orders API', '--grant', 'client_credentials', '--scope', 'api:read',
      '--audience', audience, '--role', 'reporter', '--role', 'auditor', '--web-origin', 'https://console.example.com', '--json',
    ]);
    expect(result.stderr).toBe('');
    const created = JSON.parse(result.stdout) as { client_id: string; client_secret: string };
    expect(created).toMatchObject({ resource_server_audiences: [audience], roles: ['reporter', 'auditor'], web_origins: ['https://console.example.com'] });
    const id = created.client_id;

    // The API's own client may now introspect a token another client holds for its audience.
    const token = (await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { id: 'demo-client', secret: 'demo-secret' })).body.access_token as string;
    const introspected = await postForm(`${server.baseUrl}/token/introspection`, { token }, { id, secret: created.client_secret });
    expect(introspected.body).toMatchObject({ active: true, client_id: 'demo-client' });

    const got = await cli(['client', 'get', id]);
    expect(got.stdout).toMatch(new RegExp(`^resource_server_audiences\\s+${audience}$`, 'm'));
    expect(got.stdout).toMatch(/^roles\s+reporter auditor$/m);
    expect(got.stdout).toMatch(/^web_origins\s+https:\/\/console\.example\.com$/m);

    const replaced = await cli(['client', 'update', id, '--role', 'admin', '--web-origin', 'http://localhost:5173', '--json']);
    expect(replaced.stderr).toBe('');
    expect(JSON.parse(replaced.stdout)).toMatchObject({ resource_server_audiences: [audience], roles: ['admin'], web_origins: ['http://localhost:5173'] });
    const cleared = await cli(['client', 'update', id, '--no-audience', '--no-role', '--no-web-origin', '--json']);
    expect(cleared.stderr).toBe('');
    expect(JSON.parse(cleared.stdout)).toMatchObject({ resource_server_audiences: [], roles: [], web_origins: [] });
    expect((await postForm(`${server.baseUrl}/token/introspection`, { token }, { id, secret: created.client_secret })).body).toEqual({ active: false });

    const unknown = await cli(['client', 'update', id, '--audience', 'https://unknown.example.com/api']);
    expect(unknown.code).toBe(1);
    // Said once: the description names the field already, so no "(field: ...)" repeats it.
    expect(unknown.stderr).toMatch(/^authtoken: invalid_request: resource_server_audiences\.0: https:\/\/unknown\.example\.com\/api is not a resource server of this deployment \(known: [^()\n]+\)\n$/);
  });

  test('human-readable output by default; get, list, rotate-secret, revoke-tokens, delete', async () => {
    const created = JSON.parse((await cli(['client', 'create', '--name', 'Readable', '--grant', 'client_credentials', '--scope', 'api:read api:write', '--json'])).stdout) as { client_id: string };
    const id = created.client_id;

    const got = await cli(['client', 'get', id]);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^client_id\\s+${id}$`, 'm'));
    expect(got.stdout).toMatch(/^scopes\s+api:read api:write$/m);

    const listed = await cli(['client', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(/^CLIENT_ID\s+NAME\s+GRANT_TYPES\s+SCOPES$/);
    expect(listed.stdout).toContain(id);

    const rotated = await cli(['client', 'rotate-secret', id, '--json']);
    const secret = (JSON.parse(rotated.stdout) as { client_secret: string }).client_secret;
    expect((await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials' }, { id, secret })).status).toBe(200);

    const graceful = await cli(['client', 'rotate-secret', id, '--grace-seconds', '600']);
    expect(graceful.stdout).toMatch(/the old one keeps working until \d{4}-\d\d-\d\dT/);
    expect((await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials' }, { id, secret })).status).toBe(200);
    const refused = await cli(['client', 'rotate-secret', id, '--grace-seconds', 'soon']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/whole number of seconds/);

    const revoked = await cli(['client', 'revoke-tokens', id, '--json']);
    // The two tokens issued above, one per secret.
    expect(JSON.parse(revoked.stdout)).toMatchObject({ client_id: id, revoked_records: 2 });

    expect((await cli(['client', 'delete', id])).stdout.trim()).toBe(`deleted ${id}`);
    const gone = await cli(['client', 'get', id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('authtoken: not_found: client not found\n');
  });

  test('token introspect and revoke, with the token on stdin', async () => {
    const token = (await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { id: 'demo-client', secret: 'demo-secret' })).body.access_token as string;
    const introspected = await cli(['token', 'introspect', '--json'], {}, token);
    expect(JSON.parse(introspected.stdout)).toMatchObject({ active: true, client_id: 'demo-client', scope: 'api:read' });
    expect((await cli(['token', 'revoke', '-'], {}, token)).stdout.trim()).toBe('revoked (access_token)');
    // As an argument after `--`, since a token may begin with `-` (base64url).
    expect(JSON.parse((await cli(['token', 'introspect', '--json', '--', token])).stdout)).toEqual({ active: false });
  });

  test('users: create (password on stdin), get, list, set-roles, disable, enable, reset-mfa, revoke-tokens', async () => {
    const email = `cli-${Date.now()}@example.com`;
    const created = await cli(['user', 'create', '--email', email, '--role', 'support', '--json'], {}, 'correct horse battery staple\n');
    expect(created.stderr).toBe('');
    const customerId = (JSON.parse(created.stdout) as { customer_id: string }).customer_id;
    expect(customerId).toMatch(/^C-/);
    expect((await cli(['user', 'get', customerId])).stdout).toMatch(new RegExp(`^email\\s+${email}$`, 'm'));
    expect((await cli(['user', 'list'])).stdout).toContain(customerId);
    expect(JSON.parse((await cli(['user', 'set-roles', customerId, 'admin', 'billing', '--json'])).stdout)).toMatchObject({ roles: ['admin', 'billing'] });
    expect(JSON.parse((await cli(['user', 'disable', customerId, '--json'])).stdout)).toMatchObject({ status: 'disabled' });
    expect((await cli(['user', 'enable', customerId])).stdout).toMatch(/^status\s+active$/m);
    expect(JSON.parse((await cli(['user', 'reset-mfa', customerId, '--json'])).stdout)).toMatchObject({ mfa_methods: [] });
    expect(JSON.parse((await cli(['user', 'require-mfa', customerId, '--json'])).stdout)).toMatchObject({ mfa_enrollment_required: true });
    expect(JSON.parse((await cli(['user', 'require-mfa', customerId, '--off', '--json'])).stdout)).toMatchObject({ mfa_enrollment_required: false });
    expect(JSON.parse((await cli(['user', 'revoke-tokens', customerId, '--json'])).stdout)).toMatchObject({ customer_id: customerId });
    const weak = await cli(['user', 'create', '--email', `weak-${email}`], {}, 'password\n');
    expect(weak.code).toBe(1);
    // A generic description: the field and its problem follow it, once.
    expect(weak.stderr).toMatch(/^authtoken: invalid_request: the request body is invalid \(password: [^()\n]+\)\n$/);
  });

  test('keys list and rotate', async () => {
    const rotated = JSON.parse((await cli(['keys', 'rotate', '--alg', 'ES256', '--json'])).stdout) as { kid: string; alg: string };
    expect(rotated.alg).toBe('ES256');
    const listed = await cli(['keys', 'list']);
    expect(listed.stdout.split('\n')[0]).toMatch(/^KID\s+ALG\s+STATE/);
    expect(listed.stdout).toContain(rotated.kid);
    const refused = await cli(['keys', 'rotate', '--alg', 'HS256']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  test('audit list shows the admin actions, filtered', async () => {
    const result = await cli(['audit', 'list', '--action', 'admin.client.deleted', '--json']);
    expect(result.code).toBe(0);
    const events = JSON.parse(result.stdout) as { action: string }[];
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((event) => event.action === 'admin.client.deleted')).toBe(true);
    const human = await cli(['audit', 'list', '--limit', '5']);
    expect(human.stdout.split('\n')[0]).toMatch(/^AT\s+ACTION\s+OUTCOME\s+ACTOR/);
  });

  test('failures exit non-zero with one line: no token, wrong token, validation, usage, unreachable', async () => {
    const noToken = await cli(['client', 'list'], { AUTHTOKEN_ADMIN_TOKEN: undefined });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^authtoken: AUTHTOKEN_ADMIN_TOKEN is not set.*\n$/);

    const wrongToken = await cli(['client', 'list'], { AUTHTOKEN_ADMIN_TOKEN: 'w'.repeat(40) });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toBe("authtoken: invalid_token: the bearer token is not this server's ADMIN_TOKEN\n");
    // A token with a space cannot be sent as one bearer token: the API refuses the header, and says how it must be.
    const spacedToken = await cli(['client', 'list'], { AUTHTOKEN_ADMIN_TOKEN: `${'w'.repeat(20)} ${'w'.repeat(20)}` });
    expect(spacedToken.code).toBe(1);
    expect(spacedToken.stderr).toBe('authtoken: invalid_request: the Authorization header must be Bearer, a space and the admin token\n');

    const invalid = await cli(['client', 'create', '--name', 'Bad', '--grant', 'client_credentials', '--scope', 'api:nope']);
    expect(invalid.code).toBe(1);
    // Named as the API names the field (the provider says scope, its metadata name).
    expect(invalid.stderr).toMatch(/^authtoken: invalid_request: scopes: must [^()\n]+\n$/);
    expect(occurrences(invalid.stderr, 'must only contain')).toBe(1);

    const usage = await cli(['client', 'create', '--name', 'x']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toBe("authtoken: required option '--grant <grant_type>' not specified\n");

    const unreachable = await cli(['client', 'list'], { AUTHTOKEN_ADMIN_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  test('--help on every command', async () => {
    const commands = [
      ['client'], ['client', 'create'], ['client', 'list'], ['client', 'get'], ['client', 'update'], ['client', 'delete'],
      ['client', 'rotate-secret'], ['client', 'revoke-tokens'], ['token'], ['token', 'introspect'], ['token', 'revoke'], ['audit'], ['audit', 'list'],
      ['user'], ['user', 'create'], ['user', 'list'], ['user', 'get'], ['user', 'set-roles'], ['user', 'disable'], ['user', 'enable'], ['user', 'reset-mfa'], ['user', 'require-mfa'], ['user', 'revoke-tokens'], ['keys'], ['keys', 'list'], ['keys', 'rotate'],
    ];
    for (const command of commands) {
      const result = await cli([...command, '--help']);
      expect({ command, code: result.code }).toEqual({ command, code: 0 });
      expect(result.stdout).toContain(`Usage: authtoken ${command.join(' ')}`);
    }
  });
});
