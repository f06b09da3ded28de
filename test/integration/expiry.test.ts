import { MongoClient } from 'mongodb';

import { MongoStore, type Store, type StoredDocument } from '../../src/store/index.js';
import { STORE_KINDS, testMongoUri } from '../support/server.js';
import { future, openStore, past } from '../support/stores.js';

interface Expiring extends StoredDocument {
  label: string;
}

/** Documents counted straight from the server, expired ones included (the Store API never shows them). */
async function rawCount(store: MongoStore, collection: string): Promise<number> {
  const client = new MongoClient(testMongoUri());
  try {
    return await client.db(store.databaseName).collection(collection).countDocuments({});
  } finally {
    await client.close();
  }
}

describe.each(STORE_KINDS)('expiry on the %s store', (storeKind) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(storeKind);
  });
  afterAll(async () => {
    await store.close();
  });

  test('the expiry mode matches what the server supports: a TTL index, or the sweeper where TTL indexes are refused', async () => {
    await store.ensureIndexes('expiring', [{ fields: { label: 1 } }]);
    if (store instanceof MongoStore) {
      // FerretDB (the test server unless MONGODB_URI names a MongoDB) refuses TTL indexes.
      expect(store.expiryMode()).toBe(store.atomicUpdates ? 'ttl-index' : 'sweeper');
    } else {
      expect(store.expiryMode()).toBe('memory');
    }
  });

  test('a sweep deletes expired documents and only those', async () => {
    await store.ensureIndexes('swept', []);
    const swept = store.collection<Expiring>('swept');
    await swept.insert({ _id: 'gone-1', label: 'old', expiresAt: past() });
    await swept.insert({ _id: 'gone-2', label: 'old', expiresAt: past() });
    await swept.insert({ _id: 'live', label: 'new', expiresAt: future() });
    await swept.insert({ _id: 'forever', label: 'none' });
    if (store instanceof MongoStore) expect(await rawCount(store, 'swept')).toBe(4);

    const deleted = await store.sweepExpired();

    if (store.expiryMode() === 'ttl-index') {
      // MongoDB's TTL monitor deletes them on its own schedule; the sweeper has nothing to do.
      expect(deleted).toBe(0);
    } else {
      expect(deleted).toBe(2);
      if (store instanceof MongoStore) expect(await rawCount(store, 'swept')).toBe(2);
    }
    expect((await swept.find({})).map((document) => document._id).sort()).toEqual(['forever', 'live']);
  });
});
