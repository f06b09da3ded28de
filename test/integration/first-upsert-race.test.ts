import { randomBytes } from 'node:crypto';

import { SignInThrottle, THROTTLE_COLLECTION, type ThrottleSettings } from '../../src/accounts/index.js';
import { MFA_FACTORS_COLLECTION, TotpFactor } from '../../src/mfa/totp.js';
import { ServerSecrets } from '../../src/secrets/index.js';
import type { Store, StoredDocument } from '../../src/store/index.js';
import { STORE_KINDS, testMongoUri, uniqueDatabaseName } from '../support/server.js';
import { openStore } from '../support/stores.js';
import { storeLosingFirstInserts } from '../support/watched-store.js';

const secrets = new ServerSecrets({ id: 't', key: randomBytes(32) });
const settings: ThrottleSettings = {
  freeFailures: 3,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  accountCeiling: 2,
  accountWindowSeconds: 3600,
  knownAddressDays: 30,
};
/** Server instances sharing one database, and first upserts of one `_id` sent at once through them. */
const INSTANCES = 4;
const RACERS = 16;
/** Rounds, each on an `_id` of its own: two first upserts do not collide every time. */
const ROUNDS = 8;

interface KnownAddressDocument extends StoredDocument {
  failures?: number;
}

/**
 * Two first upserts of one new `_id` may both try to insert it; MongoDB then answers the loser E11000. A TOTP
 * enrollment or a completed sign-in must not fail for it: the loser updates the document the winner inserted.
 */
describe.each(STORE_KINDS)('first upserts of one _id racing on the %s store', (storeKind) => {
  let instances: Store[];
  beforeEach(async () => {
    // Within one instance the race cannot happen (a memory update never yields; on FerretDB the store serializes
    // updates of one _id): on MongoDB-wire servers it is between instances, as between servers sharing a database.
    const databaseName = uniqueDatabaseName();
    instances = storeKind === 'memory' ? [await openStore('memory')] : await Promise.all(Array.from({ length: INSTANCES }, () => openStore('mongodb', testMongoUri(), databaseName)));
  });
  afterEach(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
  });
  const instance = (index: number): Store => instances[index % instances.length] as Store;

  test('first TOTP enrollments of one account sent at once all succeed and leave one whole enrollment', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const accountId = `account-enroll-${round}`;
      const starters = Array.from({ length: RACERS }, (_, index) => `session-${index}`);
      const enrollments = await Promise.all(
        starters.map((startedBy, index) => new TotpFactor(instance(index), secrets, 'AuthToken').enroll(accountId, 'someone@example.com', startedBy)),
      );
      // The last write wins whole: exactly one starter finds its own key pending, none a key another was shown.
      const totp = new TotpFactor(instance(0), secrets, 'AuthToken');
      const pending = await Promise.all(starters.map((startedBy) => totp.pending(accountId, 'someone@example.com', startedBy)));
      const owners = starters.filter((_, index) => pending[index] !== undefined);
      expect(owners).toHaveLength(1);
      const owner = starters.indexOf(owners[0] as string);
      expect(pending[owner]?.secret).toBe(enrollments[owner]?.secret);
    }
  });

  test('first completed sign-ins of one account from a new address sent at once all succeed and make it known', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const subject = `account-known-${round}`;
      await Promise.all(Array.from({ length: RACERS }, (_, index) => new SignInThrottle(instance(index), settings).recordSuccess(subject, '203.0.113.10')));
      const known = await instance(0).collection<KnownAddressDocument>(THROTTLE_COLLECTION).findOne({ _id: `known:${subject}:203.0.113.10` });
      expect(known?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    }
  });

  test('an enrollment whose first insert another one won updates that record instead of failing', async () => {
    const losing = storeLosingFirstInserts(instance(0), MFA_FACTORS_COLLECTION);
    const totp = new TotpFactor(losing.store, secrets, 'AuthToken');
    const enrollment = await totp.enroll('account-lost-insert', 'someone@example.com', 'session-a');
    expect(losing.lost).toEqual(['account-lost-insert']);
    expect(await totp.pending('account-lost-insert', 'someone@example.com', 'session-a')).toEqual(enrollment);
  });

  test('a sign-in whose known-address insert another one won still succeeds, and the address is let through at the ceiling', async () => {
    const losing = storeLosingFirstInserts(instance(0), THROTTLE_COLLECTION);
    const throttle = new SignInThrottle(losing.store, settings);
    await throttle.recordSuccess('account-lost-known', '203.0.113.10');
    expect(losing.lost).toEqual(['known:account-lost-known:203.0.113.10']);
    // Two failures from elsewhere reach the ceiling; the known address still gets through, a new one does not.
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      const reservation = await throttle.reserve('account-lost-known', ip);
      if (reservation.throttled) throw new Error('expected the attempt below the ceiling to be let through');
      await throttle.recordFailure(reservation.ticket);
    }
    expect(await throttle.reserve('account-lost-known', '198.51.100.3')).toMatchObject({ throttled: true, reason: 'ceiling' });
    expect(await throttle.reserve('account-lost-known', '203.0.113.10')).toMatchObject({ throttled: false });
  });
});
