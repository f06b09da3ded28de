import { randomBytes } from 'node:crypto';

import { buildProject } from '../support/build.js';
import { freePort } from '../support/ferretdb.js';
import { PageClient } from '../support/page-client.js';
import { ServerProcess } from '../support/server-process.js';
import { DEMO, postForm, TEST_MASTER_KEY, testMongoUri, uniqueDatabaseName } from '../support/server.js';
import { TestMailbox } from '../support/smtp.js';

/** Bounded load: this many token requests in all, from this many concurrent callers. */
const TOTAL_REQUESTS = 300;
const CONCURRENCY = 8;
/** SIGTERM goes out once this many answers have arrived, so requests are in flight when it lands. */
const SIGNAL_AFTER = 60;

/** A server process on its own port and database, logging at info (the tests read its lines). */
function processEnv(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    MONGODB_URI: testMongoUri(),
    MONGODB_DB: uniqueDatabaseName(),
    AUTHTOKEN_MASTER_KEY: TEST_MASTER_KEY,
    COOKIE_KEYS: 'test-cookie-key-0123456789abcdefghijklmnop',
    SHUTDOWN_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

describe('graceful shutdown on SIGTERM (real process, MongoDB store)', () => {
  const processes: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of processes) await server.kill();
  });

  test('every 200 answered during shutdown carries a token that introspects active after a restart', async () => {
    await buildProject();
    const port = await freePort();
    const env = processEnv(port, { DEMO_SEED: 'true' });
    const first = await ServerProcess.start(env);
    processes.push(first);

    const issued: string[] = [];
    const outcomes = { ok: 0, refusedOrReset: 0, otherStatus: 0, okAfterSignal: 0 };
    let started = 0;
    let answered = 0;
    let signalled = false;
    const caller = async () => {
      while (started < TOTAL_REQUESTS) {
        started += 1;
        try {
          const response = await postForm(`http://127.0.0.1:${port}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, DEMO);
          if (response.status === 200) {
            outcomes.ok += 1;
            if (signalled) outcomes.okAfterSignal += 1;
            issued.push(response.body.access_token as string);
          } else {
            outcomes.otherStatus += 1;
          }
        } catch {
          outcomes.refusedOrReset += 1;
        }
        answered += 1;
        if (!signalled && answered >= SIGNAL_AFTER) {
          signalled = true;
          first.signal('SIGTERM');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, caller));

    const exit = await first.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(first.lines.some((line) => line.includes('"shutdown complete"'))).toBe(true);
    // The stream did outlive the signal: requests in flight when it landed were still answered 200, later
    // ones were refused.
    expect(outcomes.okAfterSignal).toBeGreaterThan(0);
    expect(outcomes.refusedOrReset).toBeGreaterThan(0);
    expect(issued.length).toBeGreaterThanOrEqual(SIGNAL_AFTER - CONCURRENCY);

    const second = await ServerProcess.start(env);
    processes.push(second);
    const inactive: number[] = [];
    for (let index = 0; index < issued.length; index += 1) {
      const introspection = await postForm(`http://127.0.0.1:${port}/token/introspection`, { token: issued[index] as string }, DEMO);
      if (introspection.body.active !== true) inactive.push(index);
    }
    expect({ issued: issued.length, inactive }).toEqual({ issued: issued.length, inactive: [] });
    second.signal('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    process.stdout.write(`graceful shutdown: ${JSON.stringify({ ...outcomes, issued: issued.length })}\n`);
  }, 240_000);

  // A sign-up answers "check your email" first and registers and mails after (so its timing tells nothing):
  // a SIGTERM right after the answer must still let that work finish before the store closes.
  test('a sign-up answered just before SIGTERM still gets its email', async () => {
    await buildProject();
    const mailbox = new TestMailbox();
    await mailbox.start();
    try {
      const port = await freePort();
      const server = await ServerProcess.start(processEnv(port, { SMTP_URL: mailbox.url }));
      processes.push(server);
      const email = `shutdown-${randomBytes(4).toString('hex')}@example.com`;
      const client = new PageClient(`http://127.0.0.1:${port}`);
      const form = await client.request('/dashboard/signup');
      const answered = await client.submit(form, '/dashboard/signup', { email, password: 'a long passphrase for the shutdown test' });
      expect(answered.status).toBe(200);
      server.signal('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.lines.filter((line) => line.includes('could not complete a sign-up'))).toEqual([]);
      expect(mailbox.messages.filter((message) => message.to.includes(email))).toHaveLength(1);
    } finally {
      await mailbox.stop();
    }
  }, 120_000);
});
