import { createCustomer, signInToDashboardOverHttp } from '../support/dashboard.js';
import { csrfToken, PageClient } from '../support/page-client.js';
import { FreshRecoveryCodes } from '../../src/dashboard/fresh-recovery-codes.js';
import type { StoredDocument } from '../../src/store/index.js';
import { STORE_KINDS, testServer } from '../support/server.js';

const SECURITY = '/dashboard/security';

/** A recovery code as releases before numbered sets stored it. */
interface LegacyRecoveryCode extends StoredDocument {
  accountId: string;
  createdAt: Date;
}
const AT_ONCE = 6;

/**
 * A new set of recovery codes must replace the old one whatever else runs at the same time: two regenerations
 * at once (a double-clicked form) used to interleave their delete-then-insert and leave 20 valid codes, 10 of
 * them shown to nobody. Now exactly one set works after any number of regenerations at once, and the
 * dashboard shows that one.
 */
describe.each(STORE_KINDS)('recovery codes regenerated at once (%s store)', (storeKind) => {
  const running = testServer({ store: storeKind });

  test(`${AT_ONCE} regenerations at once: only the codes of one returned set work, and 10 are left`, async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const { recoveryCodes } = running.server.application.mfa;
    const sets = await Promise.all(Array.from({ length: AT_ONCE }, () => recoveryCodes.generate(customer.customerId)));
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(10);
    const working: number[] = [];
    for (const [index, set] of sets.entries()) {
      for (const code of set) if (await recoveryCodes.consume(customer.customerId, code)) working.push(index);
    }
    expect(working).toHaveLength(10);
    expect(new Set(working).size).toBe(1);
    // The page's count agrees: all of the working set is spent now.
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(0);
  });

  test('of sets made at once, the one that works is the last numbered, and a regeneration after them replaces it', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const { recoveryCodes } = running.server.application.mfa;
    const sets = await Promise.all(Array.from({ length: AT_ONCE }, () => recoveryCodes.generateSet(customer.customerId)));
    const newest = sets.reduce((latest, set) => (set.generation > latest.generation ? set : latest));
    for (const set of sets.filter((other) => other !== newest)) expect(await recoveryCodes.consume(customer.customerId, String(set.codes[0]))).toBe(false);
    expect(await recoveryCodes.consume(customer.customerId, String(newest.codes[0]))).toBe(true);
    const next = await recoveryCodes.generate(customer.customerId);
    expect(await recoveryCodes.consume(customer.customerId, String(newest.codes[1]))).toBe(false);
    expect(await recoveryCodes.consume(customer.customerId, String(next[0]))).toBe(true);
  });

  test('codes stored before sets were numbered keep working, until the first new set replaces them', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const legacyCode = 'abcde-fghjk';
    // As releases before this one stored a code: no set number, and no generation document for the account.
    await running.server.store.collection<LegacyRecoveryCode>('mfa_recovery_codes').insert({
      _id: running.server.application.secrets.keyedHash('code-hash', `recovery:${customer.customerId}:abcdefghjk`),
      accountId: customer.customerId,
      createdAt: new Date(),
    });
    const { recoveryCodes } = running.server.application.mfa;
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(1);
    expect(await recoveryCodes.consume(customer.customerId, legacyCode)).toBe(true);
    expect(await recoveryCodes.consume(customer.customerId, legacyCode)).toBe(false);
    await running.server.store.collection<LegacyRecoveryCode>('mfa_recovery_codes').insert({
      _id: running.server.application.secrets.keyedHash('code-hash', `recovery:${customer.customerId}:bcdefghjkm`),
      accountId: customer.customerId,
      createdAt: new Date(),
    });
    const fresh = await recoveryCodes.generate(customer.customerId);
    expect(await recoveryCodes.consume(customer.customerId, 'bcdef-ghjkm')).toBe(false);
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(10);
    expect(await recoveryCodes.consume(customer.customerId, String(fresh[0]))).toBe(true);
  });

  test('a double-clicked "new recovery codes" form on the dashboard: the page shows the set that works, and no other works', async () => {
    const customer = await createCustomer(running.server, { totp: true });
    const client = new PageClient(running.server.baseUrl);
    await signInToDashboardOverHttp(client, customer);
    const security = await client.request(SECURITY);
    const action = `${SECURITY}/recovery-codes`;
    const csrf = csrfToken(security.html, action);
    const answers = await Promise.all(
      Array.from({ length: AT_ONCE }, () => client.request(action, { form: { csrf, password: customer.password } })),
    );
    for (const answer of answers) expect(answer.status).toBe(303);
    const shown = await client.request(`${SECURITY}/recovery-codes`);
    expect(shown.status).toBe(200);
    const codes = [...shown.html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((match) => String(match[1]));
    expect(codes).toHaveLength(10);
    const { recoveryCodes } = running.server.application.mfa;
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(10);
    for (const code of codes) expect(await recoveryCodes.consume(customer.customerId, code)).toBe(true);
    expect(await recoveryCodes.remaining(customer.customerId)).toBe(0);
  });

  test('the codes a dashboard session shows are the newest set it made, whichever request finished last', async () => {
    const fresh = new FreshRecoveryCodes(running.server.store, running.server.application.secrets);
    const newer = { codes: ['newer-codes'], generation: 7 };
    await fresh.keep('session-a', newer);
    // The older set's request finishes last (as a double-click's first request can): it must not replace it.
    await fresh.keep('session-a', { codes: ['older-codes'], generation: 6 });
    expect(await fresh.read('session-a')).toEqual(newer.codes);
    await fresh.keep('session-a', { codes: ['newest-codes'], generation: 8 });
    expect(await fresh.read('session-a')).toEqual(['newest-codes']);
  });
});
