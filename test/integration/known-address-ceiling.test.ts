import { passwordGrantVia } from '../support/grants.js';
import { startTestServer, testServer } from '../support/server.js';

const PASSWORD = 'correct horse battery staple';

/**
 * The per-account ceiling stops a distributed guesser, but anyone can trip it (OWASP: lockout as denial of
 * service). An address the account completed a sign-in from recently is let through while the ceiling
 * holds: the owner keeps working from where they work; strangers, new addresses included, stay refused.
 */
describe.each(['memory', 'mongodb'] as const)('the account ceiling and known addresses on the %s store', (storeKind) => {
  const running = testServer({
      store: storeKind,
      // Free failures high: only the ceiling is at work here, not the per-address backoff.
      env: { TRUST_PROXY: 'true', SIGNIN_FREE_FAILURES: '20', SIGNIN_ACCOUNT_CEILING: '4', RATE_LIMIT_PASSWORD_GRANT: '1000' },
    });

  test('at the ceiling, the owner signs in from an address they signed in from before; a new address is refused', async () => {
    const email = `owner-${storeKind}-${Date.now()}@example.com`;
    await running.server.application.accounts.create({ email, password: PASSWORD });
    expect(await passwordGrantVia(running.server, '203.0.113.10', email, PASSWORD)).toBe(200);

    for (let attacker = 1; attacker <= 4; attacker += 1) {
      expect(await passwordGrantVia(running.server, `198.51.100.${attacker}`, email, 'a wrong guess')).toBe(400);
    }
    expect(await passwordGrantVia(running.server, '198.51.100.99', email, PASSWORD)).toBe(400);
    expect(await passwordGrantVia(running.server, '203.0.113.10', email, PASSWORD)).toBe(200);
  });

  test('with SIGNIN_KNOWN_ADDRESS_DAYS=0 the ceiling refuses every address', async () => {
    const strict = await startTestServer({
      store: storeKind,
      env: { TRUST_PROXY: 'true', SIGNIN_FREE_FAILURES: '20', SIGNIN_ACCOUNT_CEILING: '4', RATE_LIMIT_PASSWORD_GRANT: '1000', SIGNIN_KNOWN_ADDRESS_DAYS: '0' },
    });
    try {
      const email = `strict-${storeKind}-${Date.now()}@example.com`;
      await strict.application.accounts.create({ email, password: PASSWORD });
      expect(await passwordGrantVia(strict, '203.0.113.10', email, PASSWORD)).toBe(200);
      for (let attacker = 1; attacker <= 4; attacker += 1) expect(await passwordGrantVia(strict, `198.51.100.${attacker}`, email, 'a wrong guess')).toBe(400);
      expect(await passwordGrantVia(strict, '203.0.113.10', email, PASSWORD)).toBe(400);
    } finally {
      await strict.close();
    }
  });
});
