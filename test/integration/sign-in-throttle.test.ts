import { randomBytes } from 'node:crypto';

import { jest } from '@jest/globals';

import { AccountService, SignInThrottle, THROTTLE_COLLECTION, type AttemptTicket, type ThrottleSettings } from '../../src/accounts/index.js';
import { PasswordHasher } from '../../src/accounts/password-hash.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import type { Store, StoredDocument } from '../../src/store/index.js';
import { STORE_KINDS } from '../support/server.js';
import { openStore } from '../support/stores.js';
import { watchedStore } from '../support/watched-store.js';

const IP = '192.0.2.7';
const PASSWORD = 'correct horse battery staple';
const secrets = new ServerSecrets({ id: 't', key: randomBytes(32) });
const argon2 = { memoryKib: 19456, timeCost: 2, parallelism: 1 };

/** A hold far longer than any backoff here, as the default SIGNIN_CHECK_HOLD_MS was (30 s against 1 s). */
const settings = (overrides: Partial<ThrottleSettings>): ThrottleSettings => ({
  freeFailures: 1,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  accountCeiling: 1000,
  accountWindowSeconds: 3600,
  knownAddressDays: 0,
  checkHoldMs: 30_000,
  ...overrides,
});

async function reserved(throttle: SignInThrottle, subject: string): Promise<AttemptTicket> {
  const reservation = await throttle.reserve(subject, IP);
  if (reservation.throttled) throw new Error(`expected ${subject} to be let through, got ${reservation.reason}`);
  return reservation.ticket;
}

/** A pair document as the version before `heldUntil` wrote it: `blockedUntil` was a hold when `checking` was set. */
interface LegacyPairDocument extends StoredDocument {
  failures: number;
  blockedUntil: Date;
  checking: boolean;
  generation: string;
}

describe.each(STORE_KINDS)('sign-in throttle on the %s store', (storeKind) => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore(storeKind);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await store.close();
  });

  test('a backoff earned while another attempt holds the pair outlives the release of that hold (no extra guess)', async () => {
    const throttle = new SignInThrottle(store, settings({ freeFailures: 1, backoffBaseMs: 1000 }));
    const subject = 'account-hold-and-backoff';
    // A guess still being checked when the owner completes a sign-in from the same address.
    const guessInFlight = await reserved(throttle, subject);
    await throttle.recordSuccess(subject, IP);
    await throttle.recordFailure(await reserved(throttle, subject)); // 1: the free failure
    const held = await reserved(throttle, subject); // 2: past the free failures, so it holds the pair while checked
    // The guess fails now: counted against the fresh pair (3), it earns a 2 s backoff, shorter than the hold.
    await throttle.recordFailure(guessInFlight);
    // The held attempt was a right password whose second factor is still to come: its reservation is given back.
    await throttle.release(held);
    expect(await throttle.reserve(subject, IP)).toMatchObject({ throttled: true, reason: 'backoff' });
  });

  test('an attempt holding the pair that fails keeps the longer backoff earned meanwhile, and ends its hold', async () => {
    const throttle = new SignInThrottle(store, settings({ freeFailures: 1, backoffBaseMs: 1000 }));
    const subject = 'account-longer-backoff';
    const guessInFlight = await reserved(throttle, subject);
    await throttle.recordSuccess(subject, IP);
    await throttle.recordFailure(await reserved(throttle, subject)); // 1: the free failure
    const held = await reserved(throttle, subject); // 2: holds the pair; failing, it earns 1 s
    await throttle.recordFailure(guessInFlight); // 3: 2 s
    await throttle.recordFailure(held);
    const next = await throttle.reserve(subject, IP);
    expect(next).toMatchObject({ throttled: true, reason: 'backoff' });
    expect(next.throttled && next.retryAfterMs).toBeGreaterThan(1500);
  });

  test('a store error while the account window is reserved gives the pair back: the next attempt goes on at once', async () => {
    let failures = 1;
    const failing = watchedStore(store, (call) => {
      const id = String((call.target as { _id?: unknown } | undefined)?._id);
      if (call.method === 'updateOne' && id.startsWith('account:') && failures > 0) {
        failures -= 1;
        throw new Error('connection reset');
      }
    });
    // No free failures: every attempt holds the pair while it is checked.
    const throttle = new SignInThrottle(failing, settings({ freeFailures: 0 }));
    await expect(throttle.reserve('account-window-error', IP)).rejects.toThrow('connection reset');
    const started = Date.now();
    const next = await throttle.reserve('account-window-error', IP);
    expect(Date.now() - started).toBeLessThan(1000);
    // Not counted either: the attempt that met the error was never checked.
    expect(next).toMatchObject({ throttled: false, ticket: { pairCount: 1 } });
  });

  test('pair documents of the previous version: a backoff refuses, a hold is waited for, an open pair is reserved', async () => {
    const throttle = new SignInThrottle(store, settings({ freeFailures: 1 }));
    const pairs = store.collection<LegacyPairDocument>(THROTTLE_COLLECTION);
    const expiresAt = new Date(Date.now() + 3_600_000);
    const legacy = (subject: string, blockedForMs: number, checking: boolean): LegacyPairDocument => ({
      _id: `pair:${subject}:${IP}`,
      failures: 2,
      blockedUntil: new Date(blockedForMs === 0 ? 0 : Date.now() + blockedForMs),
      checking,
      generation: `old-${subject}`,
      expiresAt,
    });
    await pairs.insert(legacy('backed-off', 30_000, false));
    await pairs.insert(legacy('open', 0, false));
    await pairs.insert(legacy('held-then-wrong', 30_000, true));
    await pairs.insert(legacy('held-then-right', 30_000, true));

    expect(await throttle.reserve('backed-off', IP)).toMatchObject({ throttled: true, reason: 'backoff' });
    expect(await throttle.reserve('open', IP)).toMatchObject({ throttled: false, ticket: { pairCount: 3 } });

    // An instance of the previous version settles the attempt it holds the pair for, 300 ms from now.
    const settledAt = Date.now() + 300;
    const settleLater = (subject: string, update: Partial<LegacyPairDocument>, failuresBack: number) =>
      new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          pairs.updateOne({ _id: `pair:${subject}:${IP}` }, { $set: update, $inc: { failures: failuresBack } }).then(() => resolve(), reject);
        }, 300);
      });
    const [wrong, right] = await Promise.all([
      throttle.reserve('held-then-wrong', IP),
      throttle.reserve('held-then-right', IP),
      settleLater('held-then-wrong', { blockedUntil: new Date(Date.now() + 30_000), checking: false }, 0),
      settleLater('held-then-right', { blockedUntil: new Date(0), checking: false }, -1),
    ]);
    expect(Date.now()).toBeGreaterThanOrEqual(settledAt);
    expect(wrong).toMatchObject({ throttled: true, reason: 'backoff' });
    expect(right).toMatchObject({ throttled: false, ticket: { pairCount: 2 } });
  });

  test('a reservation made before a success gives nothing back to the pair the success started', async () => {
    const throttle = new SignInThrottle(store, settings({ freeFailures: 1, backoffBaseMs: 60_000 }));
    const subject = 'account-success-generation';
    const beforeSuccess = await reserved(throttle, subject);
    await throttle.recordSuccess(subject, IP);
    await throttle.release(beforeSuccess);
    await throttle.recordFailure(await reserved(throttle, subject)); // 1: free
    await throttle.recordFailure(await reserved(throttle, subject)); // 2: backs off for a minute
    expect(await throttle.reserve(subject, IP)).toMatchObject({ throttled: true, reason: 'backoff' });
  });

  describe('password checks that throw', () => {
    const accountsWith = (overrides: Partial<ThrottleSettings>) => new AccountService(store, secrets, { argon2, throttle: settings(overrides) });

    test('give the pair back: the next right password passes at once', async () => {
      const accounts = accountsWith({ freeFailures: 0 });
      const account = await accounts.create({ email: `held-${storeKind}@example.com`, password: PASSWORD });
      jest.spyOn(PasswordHasher.prototype, 'verify').mockRejectedValueOnce(new Error('argon2 failed'));
      await expect(accounts.verifyPassword(account.email, PASSWORD, IP)).rejects.toThrow('argon2 failed');
      const started = Date.now();
      expect(await accounts.verifyPassword(account.email, PASSWORD, IP)).toMatchObject({ ok: true });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    test('are not counted as failures: one wrong password after it is still a free one', async () => {
      const accounts = accountsWith({ freeFailures: 1, backoffBaseMs: 60_000 });
      const account = await accounts.create({ email: `counted-${storeKind}@example.com`, password: PASSWORD });
      jest.spyOn(PasswordHasher.prototype, 'verify').mockRejectedValueOnce(new Error('argon2 failed'));
      await expect(accounts.verifyPassword(account.email, PASSWORD, IP)).rejects.toThrow('argon2 failed');
      expect(await accounts.verifyPassword(account.email, 'a wrong passphrase!!', IP)).toMatchObject({ ok: false, reason: 'wrong_password' });
      expect(await accounts.verifyPassword(account.email, PASSWORD, IP)).toMatchObject({ ok: true });
    });
  });
});
