import { randomBytes } from 'node:crypto';

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
