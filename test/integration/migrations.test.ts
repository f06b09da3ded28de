import { MongoClient } from 'mongodb';

import { CLIENT_MIGRATIONS } from '../../src/clients/index.js';
import { createLogger } from '../../src/log/index.js';
import { collectionName, ensureOidcIndexes, OIDC_MIGRATIONS } from '../../src/provider/index.js';
import { appliedMigrations, MongoStore, runMigrations, SCHEMA_MIGRATIONS_COLLECTION, type Migration, type Store } from '../../src/store/index.js';
import { STORE_KINDS, testMongoUri } from '../support/server.js';
import { openStore } from '../support/stores.js';

const logger = createLogger('silent');
const options = { leaseMs: 60_000, pollMs: 20 };

/** A migration that counts its runs and yields while running, so concurrent starts really overlap. */
function countingMigration(id: string): Migration & { runs: number } {
  const migration = {
    id,
    description: `test ${id}`,
    runs: 0,
    async up() {
      migration.runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
  return migration;
}

/** A second "instance" on the same data: the same object for memory, a second connection for MongoDB. */
async function secondInstance(store: Store): Promise<Store> {
  if (!(store instanceof MongoStore)) return store;
  return MongoStore.connect({ uri: testMongoUri(), dbName: store.databaseName, connectAttempts: 1, sweepIntervalSeconds: 3600, logger });
}

describe.each(STORE_KINDS)('schema migrations on the %s store', (storeKind) => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore(storeKind);
  });
  afterEach(async () => {
    await store.close();
  });

  test('each migration is applied once, in id order; a later start applies nothing', async () => {
    const order: string[] = [];
    const migrations: Migration[] = ['0010-b', '0002-a'].map((id) => ({ id, description: id, up: async () => void order.push(id) }));
    expect(await runMigrations(store, migrations, logger, options)).toEqual(['0002-a', '0010-b']);
    expect(order).toEqual(['0002-a', '0010-b']);
    expect(await runMigrations(store, migrations, logger, options)).toEqual([]);
    expect(order).toEqual(['0002-a', '0010-b']);
    expect(await appliedMigrations(store)).toEqual(['0002-a', '0010-b']);
  });

  test('two instances starting together apply each migration exactly once, and both wait for it', async () => {
    const other = await secondInstance(store);
    try {
      const first = countingMigration('0001-first');
      const second = countingMigration('0002-second');
      const results = await Promise.all([
        runMigrations(store, [first, second], logger, options),
        runMigrations(other, [first, second], logger, options),
      ]);
      expect(first.runs).toBe(1);
      expect(second.runs).toBe(1);
      expect(results.flat().sort()).toEqual(['0001-first', '0002-second']);
      expect(await appliedMigrations(other)).toEqual(['0001-first', '0002-second']);
    } finally {
      if (other !== store) await other.close();
    }
  });

  test('a migration left running by a crashed instance is taken over once its lease has passed', async () => {
    await store.collection(SCHEMA_MIGRATIONS_COLLECTION).insert({
      _id: '0001-crashed',
      state: 'running',
      owner: 'dead-instance',
      startedAt: new Date(Date.now() - 120_000),
      description: 'crashed',
    } as never);
    const migration = countingMigration('0001-crashed');
    expect(await runMigrations(store, [migration], logger, options)).toEqual(['0001-crashed']);
    expect(migration.runs).toBe(1);
  });

  test('the same id registered twice is refused', async () => {
    await expect(runMigrations(store, [countingMigration('0001-x'), countingMigration('0001-x')], logger, options)).rejects.toThrow(
      /registered twice/,
    );
  });

  test('clients migration: stamps clients written before schema versions, idempotently', async () => {
    const clients = store.collection<{ _id: string; data: string; createdAt: Date; schemaVersion?: number }>(collectionName('Client'));
    await clients.insert({ _id: 'legacy-client', data: '{"client_id":"legacy-client"}', createdAt: new Date() });
    await runMigrations(store, CLIENT_MIGRATIONS, logger, options);
    expect((await clients.findOne({ _id: 'legacy-client' }))?.schemaVersion).toBe(1);
    // Idempotent even when re-run directly (what a take-over does).
    await CLIENT_MIGRATIONS[0]?.up(store);
    expect(await clients.count({ schemaVersion: 1 })).toBe(1);
  });

  test('oidc index migrations: single-field indexes give way to newest-first ones, only where records are looked up so', async () => {
    const tokens = collectionName('ClientCredentials');
    const userTokens = collectionName('AccessToken');
    // What releases before 0002 created at start; then what 0002 alone left (the account index on every model).
    for (const name of [tokens, userTokens]) await store.ensureIndexes(name, [{ fields: { accountId: 1 } }, { fields: { clientId: 1 } }]);
    await store.ensureIndexes(tokens, [{ fields: { accountId: 1, createdAt: -1 } }]);
    await ensureOidcIndexes(store);
    await runMigrations(store, OIDC_MIGRATIONS, logger, options);
    for (const migration of OIDC_MIGRATIONS) await migration.up(store); // idempotent: what a take-over does
    if (store instanceof MongoStore) {
      const client = await MongoClient.connect(testMongoUri());
      const database = client.db(store.databaseName);
      const keysOf = async (name: string) =>
        (await database.collection(name).listIndexes().toArray()).map((index) => JSON.stringify(index.key));
      const [tokenKeys, userTokenKeys] = [await keysOf(tokens), await keysOf(userTokens)];
      await client.close();
      // A client-credentials token has no account: no account index to pay on each write.
      expect(tokenKeys).toContain('{"clientId":1,"createdAt":-1}');
      expect(tokenKeys.filter((key) => key.includes('accountId') || key === '{"clientId":1}')).toEqual([]);
      expect(userTokenKeys).toEqual(expect.arrayContaining(['{"accountId":1,"createdAt":-1}', '{"clientId":1,"createdAt":-1}']));
      expect(userTokenKeys).not.toContain('{"clientId":1}');
      expect(userTokenKeys).not.toContain('{"accountId":1}');
    }
    // Both stores: the newest of a client's tokens come back, first, through the new index.
    const records = store.collection<{ _id: string; data: string; clientId: string; createdAt: Date }>(tokens);
    for (let n = 0; n < 5; n += 1) await records.insert({ _id: `t${n}`, data: '{}', clientId: 'c', createdAt: new Date(Date.UTC(2026, 0, 1 + n)) });
    const newest = await records.find({ clientId: { $in: ['c'] } }, { sort: { createdAt: -1 }, limit: 2 });
    expect(newest.map((record) => record._id)).toEqual(['t4', 't3']);
  });
});
