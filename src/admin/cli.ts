import { readFileSync } from 'node:fs';

import { Command, InvalidArgumentError, Option } from 'commander';

import { AdminApiClient, AdminClientError } from './api-client.js';

/**
 * `authtoken`: the operator's command line, a client of the admin API. The admin token comes only from
 * AUTHTOKEN_ADMIN_TOKEN (never a flag, so it stays out of shell history and process lists).
 */

type Json = Record<string, unknown>;

/** A whole, non-negative number of seconds; anything else is refused before a request is made. */
/** A JWK Set file of public keys (private_key_jwt); the server checks each key, this only reads the file. */
function jwksFileOption(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InvalidArgumentError(`cannot read ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError(`${path} is not JSON (expected a JWK Set: {"keys": [...]})`);
  }
}

function integerOption(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds');
  return Number(value);
}

interface OutputOptions {
  json?: boolean;
}

function api(): AdminApiClient {
  const token = process.env.AUTHTOKEN_ADMIN_TOKEN;
  if (!token) throw new AdminClientError('AUTHTOKEN_ADMIN_TOKEN is not set (use the server\'s ADMIN_TOKEN value)');
  return new AdminApiClient(process.env.AUTHTOKEN_ADMIN_URL ?? 'http://127.0.0.1:3001', token);
}

function print(value: unknown, options: OutputOptions, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** `key: value` lines, lists joined with spaces. */
function fields(record: Json, order?: string[]): string {
  const keys = order ?? Object.keys(record);
  const width = Math.max(...keys.map((key) => key.length));
  return keys
    .filter((key) => record[key] !== undefined)
    .map((key) => {
      const value = record[key];
      const text = Array.isArray(value) ? value.join(' ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
      return `${key.padEnd(width)}  ${text}`;
    })
    .join('\n');
}

/** A plain-text table, columns padded to their widest cell. */
function table(rows: Json[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (row: Json, column: string) => {
    const value = row[column];
    if (value === undefined) return '';
    return Array.isArray(value) ? value.join(' ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row, column).length)));
  const line = (cells: string[]) => cells.map((text, index) => text.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...rows.map((row) => line(columns.map((column) => cell(row, column))))].join('\n');
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
/** Like collect, after a `--no-...` of the same list (false), which the values then replace. */
const collectReplacing = (value: string, previous: string[] | false = []) => [...(previous || []), value];
/** `--scope "a b" --scope c` -> [a, b, c] */
const collectWords = (value: string, previous: string[] = []) => [...previous, ...value.split(/[\s,]+/).filter(Boolean)];

/** A secret from stdin (first line), so it appears in neither the process list nor shell history. */
async function readStdinValue(what: string): Promise<string> {
  if (process.stdin.isTTY) throw new AdminClientError(`give the ${what} on stdin, e.g. printf '%s' "$VALUE" | authtoken ...`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks).toString().split(/\r?\n/)[0] ?? '';
  if (!value) throw new AdminClientError(`no ${what} given on stdin`);
  return value;
}

async function readTokenArgument(token: string | undefined): Promise<string> {
  if (token && token !== '-') return token;
  return (await readStdinValue('token')).trim();
}

const CLIENT_FIELDS = [
  'client_id', 'name', 'application_type', 'grant_types', 'scopes', 'unknown_scopes', 'redirect_uris', 'token_endpoint_auth_method', 'password_grant', 'mfa_required',
  'resource_server_audiences', 'roles', 'web_origins', 'created_at',
];

/** Options naming the lists of an API's client, a client's own roles and a single-page app's origins. */
interface ClientListOptions {
  audience?: string[] | false;
  role?: string[] | false;
  webOrigin?: string[] | false;
}

/** Request fields for the lists given; a `--no-...` (false) sends an empty list, which clears it. */
function clientLists(options: ClientListOptions): Json {
  const list = (value: string[] | false | undefined) => (value === undefined ? undefined : value || []);
  const fields: Json = { resource_server_audiences: list(options.audience), roles: list(options.role), web_origins: list(options.webOrigin) };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function withJson(command: Command): Command {
  return command.option('--json', 'print JSON (for scripts)');
}

export function buildProgram(): Command {
  const program = new Command('authtoken')
    .description('Administer an authtoken-server through its admin API (AUTHTOKEN_ADMIN_URL, AUTHTOKEN_ADMIN_TOKEN)')
    // Usage errors stay one line, in the same form as every other failure.
    .configureOutput({ outputError: (text, write) => write(`authtoken: ${text.replace(/^error: /, '')}`) });

  const client = program.command('client').description('OAuth clients');

  withJson(client.command('create').description('create a client; its secret is printed once'))
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--grant <grant_type>', 'grant type (repeatable), e.g. client_credentials', collect)
    .requiredOption('--scope <scopes>', 'allowed scopes, space-separated (repeatable)', collectWords)
    .option('--redirect-uri <uri>', 'redirect URI (repeatable)', collect)
    .option('--client-id <id>', 'choose the client_id instead of a generated one')
    .option('--native', 'a desktop, mobile or CLI app (RFC 8252): public (auth method none), loopback redirect URIs match on any port')
    .option('--password-grant', 'allow the password grant (first-party confidential clients only: refused with --native or --auth-method none)')
    .option('--mfa-required', 'tokens need a second factor even for users without one enrolled')
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication').choices(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']))
    .option('--jwks <file>', 'public keys (JWK Set JSON file) of a private_key_jwt client', jwksFileOption)
    .option('--audience <identifier>', "a resource server's identifier whose tokens this client (the API's own) may introspect (repeatable)", collect)
    .option('--role <role>', 'a role the client holds, carried by its client-credentials tokens (repeatable)', collect)
    .option('--web-origin <origin>', 'a browser origin allowed by CORS, e.g. https://app.example.com (repeatable)', collect)
    .action(async (options: ClientListOptions & { name: string; grant: string[]; scope: string[]; redirectUri?: string[]; clientId?: string; native?: boolean; authMethod?: string; jwks?: unknown; passwordGrant?: boolean; mfaRequired?: boolean; json?: boolean }) => {
      const created = await api().request<Json>('POST', '/clients', {
        name: options.name,
        ...(options.native ? { application_type: 'native' } : {}),
        grant_types: options.grant,
        scopes: options.scope,
        ...(options.redirectUri ? { redirect_uris: options.redirectUri } : {}),
        ...(options.clientId ? { client_id: options.clientId } : {}),
        ...(options.authMethod ? { token_endpoint_auth_method: options.authMethod } : {}),
        ...(options.jwks !== undefined ? { jwks: options.jwks } : {}),
        ...(options.passwordGrant ? { password_grant: true } : {}),
        ...(options.mfaRequired ? { mfa_required: true } : {}),
        ...clientLists(options),
      });
      const secretNote = created.client_secret === undefined ? '' : '\n\nThe client secret is shown only now: store it safely.';
      print(created, options, () => `${fields(created, [...CLIENT_FIELDS, 'client_secret'])}${secretNote}`);
    });

  withJson(client.command('list').description('list clients'))
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (options: { limit: string; offset: string; json?: boolean }) => {
      const clients = await api().request<Json[]>('GET', `/clients?limit=${encodeURIComponent(options.limit)}&offset=${encodeURIComponent(options.offset)}`);
      print(clients, options, () => table(clients, ['client_id', 'name', 'grant_types', 'scopes']));
    });

  withJson(client.command('get').description('show one client').argument('<client_id>'))
    .action(async (clientId: string, options: OutputOptions) => {
      const found = await api().request<Json>('GET', `/clients/${encodeURIComponent(clientId)}`);
      print(found, options, () => fields(found, CLIENT_FIELDS));
    });

  withJson(client.command('update').description('change name, grant types, scopes, redirect URIs, public keys, audiences, roles or web origins').argument('<client_id>'))
    .option('--name <name>', 'display name')
    .option('--grant <grant_type>', 'grant types, replacing the current list (repeatable)', collect)
    .option('--scope <scopes>', 'scopes, replacing the current list (repeatable)', collectWords)
    .option('--redirect-uri <uri>', 'redirect URIs, replacing the current list (repeatable)', collect)
    .option('--password-grant', 'allow the password grant (refused for a public client: native, or auth method none)')
    .option('--no-password-grant', 'refuse the password grant')
    .option('--mfa-required', 'require a second factor for every token')
    .option('--no-mfa-required', 'require a second factor only from enrolled users')
    .option('--jwks <file>', 'replace the public keys (JWK Set JSON file) of a private_key_jwt client', jwksFileOption)
    .option('--audience <identifier>', 'resource server identifiers whose tokens it may introspect, replacing the current list (repeatable)', collectReplacing)
    .option('--no-audience', 'remove every audience (it introspects only its own tokens)')
    .option('--role <role>', "the client's roles, replacing the current list (repeatable)", collectReplacing)
    .option('--no-role', 'remove every role')
    .option('--web-origin <origin>', 'browser origins allowed by CORS, replacing the current list (repeatable)', collectReplacing)
    .option('--no-web-origin', 'remove every web origin')
    .action(async (clientId: string, options: ClientListOptions & { name?: string; grant?: string[]; scope?: string[]; redirectUri?: string[]; passwordGrant?: boolean; mfaRequired?: boolean; jwks?: unknown; json?: boolean }) => {
      const updated = await api().request<Json>('PATCH', `/clients/${encodeURIComponent(clientId)}`, {
        ...(options.name !== undefined ? { name: options.name } : {}),
        ...(options.grant ? { grant_types: options.grant } : {}),
        ...(options.scope ? { scopes: options.scope } : {}),
        ...(options.redirectUri ? { redirect_uris: options.redirectUri } : {}),
        ...(options.passwordGrant !== undefined ? { password_grant: options.passwordGrant } : {}),
        ...(options.mfaRequired !== undefined ? { mfa_required: options.mfaRequired } : {}),
        ...(options.jwks !== undefined ? { jwks: options.jwks } : {}),
        ...clientLists(options),
      });
      print(updated, options, () => fields(updated, CLIENT_FIELDS));
    });

  withJson(client.command('delete').description('delete a client and its stored tokens').argument('<client_id>'))
    .action(async (clientId: string, options: OutputOptions) => {
      await api().request('DELETE', `/clients/${encodeURIComponent(clientId)}`);
      print({ client_id: clientId, deleted: true }, options, () => `deleted ${clientId}`);
    });

  withJson(client.command('rotate-secret').description('replace the client secret; the new one is printed once').argument('<client_id>'))
    .option('--grace-seconds <seconds>', 'keep the old secret working this long, so partners can deploy the new one (default 0: it stops at once)', integerOption, 0)
    .action(async (clientId: string, options: OutputOptions & { graceSeconds: number }) => {
      const rotated = await api().request<Json>('POST', `/clients/${encodeURIComponent(clientId)}/secret`, { grace_seconds: options.graceSeconds });
      const oldSecret = options.graceSeconds > 0 ? `the old one keeps working until ${String(rotated.previous_secret_valid_until)}` : 'the old one no longer works';
      print(rotated, options, () => `${fields(rotated)}\n\nThe new client secret is shown only now; ${oldSecret}.`);
    });

  withJson(client.command('revoke-tokens').description("revoke all of the client's stored tokens").argument('<client_id>'))
    .action(async (clientId: string, options: OutputOptions) => {
      const revoked = await api().request<Json>('POST', `/clients/${encodeURIComponent(clientId)}/revoke-tokens`);
      print(revoked, options, () => fields(revoked));
    });

  const user = program.command('user').description('users (people signing in)');
  const USER_FIELDS = ['customer_id', 'email', 'roles', 'status', 'mfa_methods', 'mfa_enrollment_required', 'country_code', 'created_at', 'updated_at'];
  const userPath = (customerId: string, action = '') => `/users/${encodeURIComponent(customerId)}${action}`;

  withJson(user.command('create').description('create a user; the password is read from stdin'))
    .requiredOption('--email <email>', 'email address (also the sign-in name)')
    .option('--role <role>', 'role (repeatable)', collect)
    .option('--country-code <code>', 'ITU calling code without +, e.g. 49')
    .action(async (options: { email: string; role?: string[]; countryCode?: string; json?: boolean }) => {
      const password = await readStdinValue('password');
      const created = await api().request<Json>('POST', '/users', {
        email: options.email,
        password,
        roles: options.role ?? [],
        ...(options.countryCode ? { country_code: options.countryCode } : {}),
      });
      print(created, options, () => fields(created, USER_FIELDS));
    });

  withJson(user.command('list').description('list users'))
    .option('--limit <n>', 'at most this many', '100')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (options: { limit: string; offset: string; json?: boolean }) => {
      const users = await api().request<Json[]>('GET', `/users?limit=${encodeURIComponent(options.limit)}&offset=${encodeURIComponent(options.offset)}`);
      print(users, options, () => table(users, ['customer_id', 'email', 'status', 'roles', 'mfa_methods']));
    });

  withJson(user.command('get').description('show one user (second factors by name only)').argument('<customer_id>'))
    .action(async (customerId: string, options: OutputOptions) => {
      const found = await api().request<Json>('GET', userPath(customerId));
      print(found, options, () => fields(found, USER_FIELDS));
    });

  withJson(user.command('set-roles').description("replace the user's roles (none given: no roles)").argument('<customer_id>').argument('[roles...]'))
    .action(async (customerId: string, roles: string[], options: OutputOptions) => {
      const updated = await api().request<Json>('PUT', userPath(customerId, '/roles'), { roles });
      print(updated, options, () => fields(updated, USER_FIELDS));
    });

  withJson(user.command('require-mfa').description('make the next sign-in enroll a second factor').argument('<customer_id>'))
    .option('--off', 'stop requiring it')
    .action(async (customerId: string, options: { off?: boolean; json?: boolean }) => {
      const updated = await api().request<Json>('POST', userPath(customerId, '/require-mfa'), { required: !options.off });
      print(updated, options, () => fields(updated, [...USER_FIELDS, 'mfa_enrollment_required']));
    });

  const userActions: [string, string, string][] = [
    ['disable', '/disable', 'refuse sign-in and revoke stored tokens and sessions'],
    ['enable', '/enable', 'allow sign-in again'],
    ['reset-mfa', '/reset-mfa', 'remove every second factor (the user enrolls again); sessions and tokens end'],
    ['revoke-tokens', '/revoke-tokens', "revoke the user's stored tokens and end their sessions (sign-in and dashboard)"],
  ];
  for (const [name, action, description] of userActions) {
    withJson(user.command(name).description(description).argument('<customer_id>'))
      .action(async (customerId: string, options: OutputOptions) => {
        const result = await api().request<Json>('POST', userPath(customerId, action));
        print(result, options, () => fields(result));
      });
  }

  const keys = program.command('keys').description('token signing keys');
  const KEY_COLUMNS = ['kid', 'alg', 'state', 'activates_at', 'retires_at'];

  withJson(keys.command('list').description('list signing keys (public halves and schedule)'))
    .action(async (options: OutputOptions) => {
      const listed = await api().request<Json[]>('GET', '/keys');
      print(listed, options, () => table(listed, KEY_COLUMNS));
    });

  withJson(keys.command('rotate').description('rotate the signing key of an algorithm, without a restart'))
    .addOption(new Option('--alg <alg>', 'algorithm').choices(['EdDSA', 'ES256', 'RS256']).default('EdDSA'))
    .action(async (options: { alg: string; json?: boolean }) => {
      const created = await api().request<Json>('POST', '/keys/rotate', { alg: options.alg });
      print(created, options, () => fields(created, ['kid', 'alg', 'state', 'created_at', 'activates_at']));
    });

  const token = program.command('token').description('tokens of any client');

  withJson(token.command('introspect').description('show what a token grants (reads stdin when the token is - or omitted; put -- before a token that starts with -)').argument('[token]'))
    .action(async (value: string | undefined, options: OutputOptions) => {
      const description = await api().request<Json>('POST', '/tokens/introspect', { token: await readTokenArgument(value) });
      print(description, options, () => fields(description));
    });

  withJson(token.command('revoke').description('revoke a token (reads stdin when the token is - or omitted; put -- before a token that starts with -)').argument('[token]'))
    .action(async (value: string | undefined, options: OutputOptions) => {
      const revoked = await api().request<Json>('POST', '/tokens/revoke', { token: await readTokenArgument(value) });
      print(revoked, options, () => `revoked (${String(revoked.token_type)})`);
    });

  const audit = program.command('audit').description('the audit trail');

  withJson(audit.command('list').description('list audit events, newest first'))
    .option('--action <action>', 'only this action, e.g. admin.client.created')
    .option('--client <client_id>', 'only events about this client')
    .option('--account <account_id>', 'only events about this account')
    .option('--before <iso-date>', 'only events before this instant')
    .option('--limit <n>', 'at most this many (max 500)', '50')
    .action(async (options: { action?: string; client?: string; account?: string; before?: string; limit: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.action) query.set('action', options.action);
      if (options.client) query.set('client_id', options.client);
      if (options.account) query.set('account_id', options.account);
      if (options.before) query.set('before', options.before);
      const events = await api().request<Json[]>('GET', `/audit-events?${query.toString()}`);
      const rows = events.map((event) => ({ ...event, actor: (event.actor as Json).type }));
      print(events, options, () => table(rows, ['at', 'action', 'outcome', 'actor', 'client_id', 'account_id', 'ip']));
    });

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const reason = error instanceof AdminClientError ? error.message : `unexpected error: ${(error as Error).message}`;
  process.stderr.write(`authtoken: ${reason}\n`);
  process.exitCode = 1;
}
