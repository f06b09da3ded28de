import { randomBytes } from 'node:crypto';

import { verify as argon2Verify } from '@node-rs/argon2';

import { AccountService, checkPasswordPolicy, EmailTakenError, PasswordPolicyError, SignInThrottle } from '../../src/accounts/index.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import type { StoredDocument } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { watchedStore } from '../support/watched-store.js';

const secrets = new ServerSecrets({ id: 't', key: randomBytes(32) });
const throttle = { freeFailures: 50, backoffBaseMs: 1000, backoffMaxMs: 1000, accountCeiling: 1000, accountWindowSeconds: 60, knownAddressDays: 30 };

describe('password policy', () => {
  test('12 to 128 characters, counted as code points', () => {
    expect(checkPasswordPolicy('a'.repeat(11) + 'b')).toBeUndefined();
    expect(checkPasswordPolicy('short pass!')).toBe('too_short');
    expect(checkPasswordPolicy('x'.repeat(129))).toBe('too_long');
    expect(checkPasswordPolicy('😀'.repeat(12))).toBeUndefined();
  });
  test('a common or breached password is refused, whatever its case', () => {
    expect(checkPasswordPolicy('qwerty123456')).toBe('common');
    expect(checkPasswordPolicy('QWERTY123456')).toBe('common');
  });
});

describe('AccountService', () => {
  let store: MemoryStore;
  beforeEach(() => {
    store = new MemoryStore();
  });
  afterEach(async () => {
    await store.close();
  });

  test('emails are unique case-insensitively; customer ids look like C-...', async () => {
    const accounts = new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, throttle });
    await accounts.ensureIndexes();
    const account = await accounts.create({ email: 'Ann@Example.com', password: 'a long enough passphrase' });
    expect(account.customerId).toMatch(/^C-[A-Za-z0-9_-]+$/);
    await expect(accounts.create({ email: 'ann@example.COM', password: 'a long enough passphrase' })).rejects.toBeInstanceOf(EmailTakenError);
    await expect(accounts.create({ email: 'bob@example.com', password: 'qwerty123456' })).rejects.toBeInstanceOf(PasswordPolicyError);
    expect((await accounts.findByUsername('ANN@example.com'))?.customerId).toBe(account.customerId);
    expect((await accounts.findByUsername(account.customerId))?.email).toBe('Ann@Example.com');
  });

  test('argon2id with the configured cost; a hash made with other parameters is replaced at the next sign-in', async () => {
    const weaker = new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, throttle });
    await weaker.create({ email: 'c@example.com', password: 'a long enough passphrase' });
    const stored = async () => String((await store.collection('accounts').findOne({ emailKey: 'c@example.com' }) as { passwordHash: string } | null)?.passwordHash);
    const before = await stored();
    expect(before).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    const stronger = new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 3, parallelism: 1 }, throttle });
    expect((await stronger.verifyPassword('c@example.com', 'a long enough passphrase', '127.0.0.1')).ok).toBe(true);
    const after = await stored();
    expect(after).toMatch(/^\$argon2id\$v=19\$m=19456,t=3,p=1\$/);
    expect(await argon2Verify(after, 'a long enough passphrase')).toBe(true);
  });

  test('a hash written by the reference C implementation (the `argon2` package, used before) still verifies and is kept', async () => {
    // Made with argon2@0.45 (m=19456, t=2, p=1): the same parameters in another field order.
    const referenceHash = '$argon2id$v=19$m=19456,p=1,t=2$TtqxZvHypIkMLtdljpAq0w$/dwXhMVfalpd63XknpL6j0kqOHRLInztGw6kIMph6IU';
    const accounts = new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, throttle });
    await accounts.create({ email: 'legacy@example.com', password: 'another long passphrase' });
    await store.collection('accounts').updateOne({ emailKey: 'legacy@example.com' }, { $set: { passwordHash: referenceHash } });
    expect((await accounts.verifyPassword('legacy@example.com', 'a long enough passphrase', '127.0.0.1')).ok).toBe(true);
    expect((await store.collection('accounts').findOne({ emailKey: 'legacy@example.com' }) as { passwordHash: string } | null)?.passwordHash).toBe(referenceHash);
    expect((await accounts.verifyPassword('legacy@example.com', 'a wrong passphrase!!', '127.0.0.1')).ok).toBe(false);
  });

  test('unknown user, wrong password and disabled account all fail', async () => {
    const accounts = new AccountService(store, secrets, { argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 }, throttle });
    const account = await accounts.create({ email: 'd@example.com', password: 'a long enough passphrase' });
    expect(await accounts.verifyPassword('nobody@example.com', 'a long enough passphrase', '127.0.0.1')).toMatchObject({ ok: false, reason: 'unknown_user' });
    expect(await accounts.verifyPassword('d@example.com', 'wrong passphrase!!', '127.0.0.1')).toMatchObject({ ok: false, reason: 'wrong_password' });
    await accounts.setStatus(account.customerId, 'disabled');
    expect(await accounts.verifyPassword('d@example.com', 'a long enough passphrase', '127.0.0.1')).toMatchObject({ ok: false, reason: 'disabled' });
  });
});

describe('sign-in throttle reservations', () => {
  test("attempts a backed-off address sends at once never touch the account's window: they cannot fill its ceiling", async () => {
    const store = new MemoryStore();
    const windowWrites: unknown[] = [];
    // Records every write to the account's window document, whatever the outcome of the attempt.
    const watched: typeof store = Object.create(store);
    watched.collection = <T extends StoredDocument>(name: string) => {
      const collection = store.collection<T>(name);
      const updateOne: typeof collection.updateOne = async (filter, ...rest) => {
        if (String(filter._id).startsWith('account:')) windowWrites.push(filter);
        return collection.updateOne(filter, ...rest);
      };
      // A proxy, not a copy: the collection's methods use private fields of the real object.
      return new Proxy(collection, {
        get: (target, key) => {
          if (key === 'updateOne') return updateOne;
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    };
    const settings = { freeFailures: 3, backoffBaseMs: 60_000, backoffMaxMs: 60_000, accountCeiling: 10, accountWindowSeconds: 3600, knownAddressDays: 0 };
    const throttle = new SignInThrottle(watched, settings);
    for (let failure = 0; failure < 4; failure += 1) {
      const reservation = await throttle.reserve('account-1', '10.0.0.1');
      if (reservation.throttled) throw new Error('the first four attempts are checked');
      await throttle.recordFailure(reservation.ticket);
    }
    windowWrites.length = 0;
    const burst = await Promise.all(Array.from({ length: 30 }, () => throttle.reserve('account-1', '10.0.0.1')));
    expect(burst.every((reservation) => reservation.throttled && reservation.reason === 'backoff')).toBe(true);
    expect(windowWrites).toEqual([]);
    // The owner, from elsewhere, is not at the ceiling.
    expect((await throttle.reserve('account-1', '10.0.0.2')).throttled).toBe(false);
  });

  test('a successful sign-in from an address that signed in before costs 6 throttle calls (1 to reserve the pair)', async () => {
    const calls: string[] = [];
    const store = new MemoryStore();
    const accounts = new AccountService(watchedStore(store, (call) => calls.push(`${call.collection}.${call.method}`)), secrets, {
      argon2: { memoryKib: 19456, timeCost: 2, parallelism: 1 },
      throttle: { ...throttle, freeFailures: 3 },
    });
    const account = await accounts.create({ email: 'calls@example.com', password: 'a long enough passphrase' });
    /** The store calls of one password sign-in without a second factor, as the password grant makes them. */
    const signIn = async (): Promise<string[]> => {
      calls.length = 0;
      const check = await accounts.verifyPassword(account.email, 'a long enough passphrase', '127.0.0.1');
      if (!check.ok) throw new Error(`the right password was refused: ${check.reason}`);
      await accounts.recordSignInSuccess(check.account, '127.0.0.1');
      return calls.filter((call) => call.startsWith('signin_throttle.'));
    };
    await signIn(); // creates the pair and the window documents
    const again = await signIn();
    // Before the pair was reset instead of deleted, 9: the pair's reservation took an update per slot, a read and an insert.
    expect(again).toEqual([
      'signin_throttle.updateOne', // the pair, within its free failures
      'signin_throttle.updateOne', // the account's window
      'signin_throttle.updateOne', // the pair given back
      'signin_throttle.updateOne', // the window given back
      'signin_throttle.updateOne', // the pair reset by the success
      'signin_throttle.updateOne', // the known address
    ]);
    await store.close();
  });
});
