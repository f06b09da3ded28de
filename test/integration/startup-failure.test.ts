import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';

import { freePort } from '../support/ferretdb.js';
import { buildServer, runServerProcess } from '../support/built-server.js';

/** Issue 3 item 6: at start, retry with backoff, then exit non-zero with one clear line. */
describe('starting without a reachable database', () => {
  let entry: string;
  beforeAll(() => {
    entry = buildServer();
  }, 180_000);

  test('the real server process retries, then exits 1 naming the cause, never listening', async () => {
    const closedPort = await freePort();
    const result = await runServerProcess(
      entry,
      {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        // Credentials in the URI must not reach the output.
        MONGODB_URI: `mongodb://operator:pa55word-in-uri@127.0.0.1:${closedPort}/?authSource=admin`,
        MONGODB_CONNECT_ATTEMPTS: '2',
        AUTHTOKEN_MASTER_KEY: randomBytes(32).toString('base64'),
        COOKIE_KEYS: randomBytes(32).toString('base64url'),
        LOG_LEVEL: 'info',
      },
      60_000,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^authtoken-server: could not connect to MongoDB after 2 attempts: .+ \(check MONGODB_URI, .+\)$/m);
    // One retry was logged with its reason, and the server never got as far as listening.
    const retry = result.stdout.split('\n').find((line) => line.includes('MongoDB not reachable yet, retrying'));
    expect(JSON.parse(retry ?? '{}')).toMatchObject({ attempt: 1, reason: expect.stringContaining(`127.0.0.1:${closedPort}`) });
    expect(result.stdout).not.toContain('listening');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(`${result.stdout}${result.stderr}`).not.toContain('pa55word-in-uri');
  }, 60_000);
});

describe('an operator mistake at start', () => {
  let entry: string;
  let occupant: Server;
  let takenPort: number;
  beforeAll(async () => {
    entry = buildServer();
    occupant = createServer();
    await new Promise<void>((resolve) => occupant.listen(0, '127.0.0.1', resolve));
    const address = occupant.address();
    takenPort = typeof address === 'object' && address ? address.port : 0;
  }, 180_000);
  afterAll(() => new Promise<void>((resolve) => occupant.close(() => resolve())));

  const base = { NODE_ENV: 'test', HOST: '127.0.0.1', ADMIN_HOST: '127.0.0.1', DEMO_SEED: 'false', LOG_LEVEL: 'warn' };

  test.each([
    ['PORT', () => ({ PORT: String(takenPort) })],
    ['ADMIN_PORT', () => ({ PORT: '0', ADMIN_PORT: String(takenPort), ADMIN_TOKEN: randomBytes(32).toString('base64') })],
  ])('%s already in use: exit 1 with one line naming the variable and the address', async (variable, settings) => {
    const result = await runServerProcess(entry, { ...base, ...settings() }, 60_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^authtoken-server: failed to start: ${variable}: 127\\.0\\.0\\.1:${takenPort} is already in use \\(another process listens there\\)$`, 'm'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  test('a TTL with a unit: exit 1 with one line naming the variable, never listening', async () => {
    const result = await runServerProcess(entry, { ...base, PORT: '0', ACCESS_TOKEN_TTL: '1h' }, 60_000);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('authtoken-server: invalid configuration: ACCESS_TOKEN_TTL: must be a whole number from 60 to 86400 (digits only, no unit)');
    expect(result.stdout).not.toContain('listening');
  }, 60_000);
});
