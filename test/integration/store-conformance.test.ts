import { DuplicateKeyError, type Store, type StoredDocument } from '../../src/store/index.js';
import { STORE_KINDS } from '../support/server.js';
import { future, openStore, past } from '../support/stores.js';

interface Item extends StoredDocument {
  name?: string;
  n?: number;
  tags?: string[];
  at?: Date;
  email?: string;
  counter?: number;
  createdBy?: string;
}

/** The generic Collection API must behave identically on both stores: one suite, both implementations. */
describe.each(STORE_KINDS)('Store conformance on the %s store', (storeKind) => {
  let store: Store;
  let collectionCounter = 0;
  /** A fresh collection per test, so tests do not see each other's documents. */
  const fresh = () => store.collection<Item>(`conformance_${(collectionCounter += 1)}`);

  beforeAll(async () => {
    store = await openStore(storeKind);
  });
  afterAll(async () => {
    await store.close();
  });

  const seed = async () => {
    const items = fresh();
    await items.insert({ _id: 'a', name: 'alpha', n: 1, tags: ['x', 'y'], at: new Date('2026-01-01T00:00:00Z') });
    await items.insert({ _id: 'b', name: 'beta', n: 2, tags: ['y'], at: new Date('2026-02-01T00:00:00Z') });
    await items.insert({ _id: 'c', name: 'gamma', n: 3 });
    await items.insert({ _id: 'd', name: 'delta', n: 4, expiresAt: future() });
    return items;
  };
  const ids = (documents: Item[]) => documents.map((document) => document._id).sort();

  test('insert then findOne returns an equal copy, Dates included', async () => {
    const items = await seed();
    const found = await items.findOne({ _id: 'a' });
    expect(found).toEqual({ _id: 'a', name: 'alpha', n: 1, tags: ['x', 'y'], at: new Date('2026-01-01T00:00:00Z') });
    expect(found?.at).toBeInstanceOf(Date);
    expect(await items.findOne({ _id: 'nope' })).toBeNull();
  });

  test('a returned document is a copy: mutating it changes nothing stored', async () => {
    const items = await seed();
    const found = await items.findOne({ _id: 'a' });
    found!.name = 'changed';
    found!.tags!.push('z');
    expect(await items.findOne({ _id: 'a' })).toMatchObject({ name: 'alpha', tags: ['x', 'y'] });
  });

  test('equality, array membership, $exists, $in, $ne', async () => {
    const items = await seed();
    expect(ids(await items.find({ name: 'beta' }))).toEqual(['b']);
    expect(ids(await items.find({ tags: 'y' }))).toEqual(['a', 'b']);
    expect(ids(await items.find({ tags: { $exists: true } }))).toEqual(['a', 'b']);
    expect(ids(await items.find({ tags: { $exists: false } }))).toEqual(['c', 'd']);
    expect(ids(await items.find({ n: { $in: [1, 3, 99] } }))).toEqual(['a', 'c']);
    expect(ids(await items.find({ _id: { $in: ['b', 'c'] } }))).toEqual(['b', 'c']);
    expect(ids(await items.find({ name: { $ne: 'alpha' } }))).toEqual(['b', 'c', 'd']);
    expect(ids(await items.find({ name: 'alpha', n: 2 }))).toEqual([]);
  });

  test('$lt, $lte, $gt, $gte on numbers and Dates; missing fields never match a range', async () => {
    const items = await seed();
    expect(ids(await items.find({ n: { $lt: 2 } }))).toEqual(['a']);
    expect(ids(await items.find({ n: { $lte: 2 } }))).toEqual(['a', 'b']);
    expect(ids(await items.find({ n: { $gt: 2 } }))).toEqual(['c', 'd']);
    expect(ids(await items.find({ n: { $gte: 4 } }))).toEqual(['d']);
    expect(ids(await items.find({ at: { $lt: new Date('2026-01-15T00:00:00Z') } }))).toEqual(['a']);
    expect(ids(await items.find({ at: { $gte: new Date('2026-01-15T00:00:00Z') } }))).toEqual(['b']);
  });

  test('sort, skip and limit', async () => {
    const items = await seed();
    const byNDescending = await items.find({}, { sort: { n: -1 } });
    expect(byNDescending.map((item) => item._id)).toEqual(['d', 'c', 'b', 'a']);
    const page = await items.find({}, { sort: { n: 1 }, skip: 1, limit: 2 });
    expect(page.map((item) => item._id)).toEqual(['b', 'c']);
    const byDate = await items.find({ at: { $exists: true } }, { sort: { at: -1 } });
    expect(byDate.map((item) => item._id)).toEqual(['b', 'a']);
    expect(await items.count({})).toBe(4);
    expect(await items.count({ n: { $gt: 1 } })).toBe(3);
  });

  test('insert of an existing _id is a DuplicateKeyError; replace overwrites or creates', async () => {
    const items = await seed();
    await expect(items.insert({ _id: 'a', name: 'again' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await items.replace({ _id: 'a', name: 'replaced' });
    expect(await items.findOne({ _id: 'a' })).toEqual({ _id: 'a', name: 'replaced' });
    await items.replace({ _id: 'new', name: 'created' });
    expect(await items.findOne({ _id: 'new' })).toEqual({ _id: 'new', name: 'created' });
  });

  test('updateOne: $set, $unset, $inc; returns the document after the update, or null', async () => {
    const items = await seed();
    const updated = await items.updateOne({ _id: 'a' }, { $set: { name: 'ALPHA' }, $unset: ['tags'], $inc: { n: 10, counter: 1 } });
    expect(updated).toEqual({ _id: 'a', name: 'ALPHA', n: 11, counter: 1, at: new Date('2026-01-01T00:00:00Z') });
    expect(await items.findOne({ _id: 'a' })).toEqual(updated);
    expect(await items.updateOne({ _id: 'missing' }, { $set: { name: 'x' } })).toBeNull();
    expect(await items.findOne({ _id: 'missing' })).toBeNull();
  });

  test('updateOne with a conditional filter applies at most once (the basis of atomic consume)', async () => {
    const items = await seed();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => items.updateOne({ _id: 'c', createdBy: { $exists: false } }, { $set: { createdBy: 'me' } })),
    );
    expect(results.filter((result) => result !== null)).toHaveLength(1);
  });

  test('"all but one of theirs": deleteMany by field and _id $ne; find by _id $in and field; updateOne only when a Date is older', async () => {
    const items = await seed();
    await items.insert({ _id: 'e', name: 'alpha', n: 5 });
    expect(ids(await items.find({ name: 'alpha', _id: { $in: ['a', 'b', 'e'] } }))).toEqual(['a', 'e']);
    expect(await items.deleteMany({ name: 'alpha', _id: { $ne: 'e' } })).toBe(1);
    expect(ids(await items.find({}))).toEqual(['b', 'c', 'd', 'e']);
    // A "last seen" moved on at most once per interval: the filter holds the threshold.
    const threshold = new Date('2026-01-15T00:00:00Z');
    expect(await items.updateOne({ _id: 'b', at: { $lt: threshold } }, { $set: { name: 'seen' } })).toBeNull();
    await items.updateOne({ _id: 'b' }, { $set: { at: new Date('2026-01-10T00:00:00Z') } });
    expect(await items.updateOne({ _id: 'b', at: { $lt: threshold } }, { $set: { at: threshold } })).toMatchObject({ _id: 'b', at: threshold });
    expect(await items.updateOne({ _id: 'b', at: { $lt: threshold } }, { $set: { name: 'again' } })).toBeNull();
  });

  test('updateOne upsert: creates from the filter equalities plus $setOnInsert; $setOnInsert ignored on update', async () => {
    const items = fresh();
    const created = await items.updateOne(
      { _id: 'k', name: 'counter' },
      { $inc: { counter: 1 }, $setOnInsert: { createdBy: 'first' } },
      { upsert: true },
    );
    expect(created).toEqual({ _id: 'k', name: 'counter', counter: 1, createdBy: 'first' });
    const updated = await items.updateOne(
      { _id: 'k', name: 'counter' },
      { $inc: { counter: 1 }, $setOnInsert: { createdBy: 'second' } },
      { upsert: true },
    );
    expect(updated).toEqual({ _id: 'k', name: 'counter', counter: 2, createdBy: 'first' });
  });

  test('concurrent $inc upserts on one key lose no increment', async () => {
    const items = fresh();
    await items.updateOne({ _id: 'hits' }, { $inc: { counter: 1 } }, { upsert: true });
    await Promise.all(Array.from({ length: 10 }, () => items.updateOne({ _id: 'hits' }, { $inc: { counter: 1 } }, { upsert: true })));
    expect((await items.findOne({ _id: 'hits' }))?.counter).toBe(11);
  });

  test('an upsert whose filter excludes an existing document is a DuplicateKeyError, not an overwrite', async () => {
    const items = await seed();
    await expect(items.updateOne({ _id: 'a', name: 'not-alpha' }, { $set: { n: 0 } }, { upsert: true })).rejects.toBeInstanceOf(
      DuplicateKeyError,
    );
    expect((await items.findOne({ _id: 'a' }))?.n).toBe(1);
  });

  test('unique indexes: insert, replace and updateOne clash with DuplicateKeyError; sparse skips missing fields', async () => {
    const name = `conformance_unique_${(collectionCounter += 1)}`;
    await store.ensureIndexes(name, [{ fields: { email: 1 }, unique: true, sparse: true }]);
    // Idempotent: a second start creates nothing new and does not fail.
    await store.ensureIndexes(name, [{ fields: { email: 1 }, unique: true, sparse: true }]);
    const users = store.collection<Item>(name);
    await users.insert({ _id: 'u1', email: 'a@example.test' });
    await users.insert({ _id: 'u2' });
    await users.insert({ _id: 'u3' });
    await expect(users.insert({ _id: 'u4', email: 'a@example.test' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(users.replace({ _id: 'u2', email: 'a@example.test' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await expect(users.updateOne({ _id: 'u3' }, { $set: { email: 'a@example.test' } })).rejects.toBeInstanceOf(DuplicateKeyError);
    await users.updateOne({ _id: 'u3' }, { $set: { email: 'b@example.test' } });
    expect(await users.count({ email: { $exists: true } })).toBe(2);
    // Replacing a document with its own unique value is not a clash.
    await users.replace({ _id: 'u1', email: 'a@example.test', name: 'same' });
  });

  test('dropIndexes removes the index on exactly those fields; absent indexes and collections are no error', async () => {
    const name = `conformance_drop_${(collectionCounter += 1)}`;
    await store.ensureIndexes(name, [{ fields: { email: 1 }, unique: true, sparse: true }]);
    const users = store.collection<Item>(name);
    await users.insert({ _id: 'u1', email: 'a@example.test' });
    // Other fields, or the same field in another direction, name another index: the unique one stays.
    await store.dropIndexes(name, [{ fields: { email: -1 } }, { fields: { email: 1, name: 1 } }, { fields: { name: 1 } }]);
    await expect(users.insert({ _id: 'u2', email: 'a@example.test' })).rejects.toBeInstanceOf(DuplicateKeyError);
    await store.dropIndexes(name, [{ fields: { email: 1 } }]);
    await users.insert({ _id: 'u2', email: 'a@example.test' });
    expect(await users.count({ email: 'a@example.test' })).toBe(2);
    await store.dropIndexes(name, [{ fields: { email: 1 } }]);
    await store.dropIndexes(`conformance_never_created_${(collectionCounter += 1)}`, [{ fields: { email: 1 } }]);
  });

  test('concurrent replaces (one insert batch on FerretDB) each get their own outcome', async () => {
    const name = `conformance_batch_${(collectionCounter += 1)}`;
    await store.ensureIndexes(name, [{ fields: { email: 1 }, unique: true, sparse: true }]);
    const users = store.collection<Item>(name);
    await users.insert({ _id: 'taken', email: 'taken@example.test' });
    await users.insert({ _id: 'existing', name: 'old' });
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, n) => users.replace({ _id: `new-${n}`, n })),
      users.replace({ _id: 'existing', name: 'new' }),
      users.replace({ _id: 'clash', email: 'taken@example.test' }),
    ]);
    expect(outcomes.slice(0, 21).map((outcome) => outcome.status)).toEqual(Array(21).fill('fulfilled'));
    const clash = outcomes[21];
    expect(clash?.status === 'rejected' && clash.reason).toBeInstanceOf(DuplicateKeyError);
    expect(await users.count({ n: { $gte: 0 } })).toBe(20);
    expect(await users.findOne({ _id: 'existing' })).toEqual({ _id: 'existing', name: 'new' });
    expect(await users.findOne({ _id: 'clash' })).toBeNull();
  });

  test('expired documents are never returned, counted or updated, even before a sweep', async () => {
    const items = await seed();
    await items.insert({ _id: 'old', name: 'old', n: 0, expiresAt: past() });
    expect(await items.findOne({ _id: 'old' })).toBeNull();
    expect(ids(await items.find({}))).toEqual(['a', 'b', 'c', 'd']);
    expect(await items.count({ name: 'old' })).toBe(0);
    expect(await items.updateOne({ _id: 'old' }, { $set: { name: 'revived' } })).toBeNull();
    // The unexpired document with an expiry is returned with it.
    expect((await items.findOne({ _id: 'd' }))?.expiresAt).toBeInstanceOf(Date);
  });

  test('an expired document does not block inserting or upserting its _id again', async () => {
    const items = fresh();
    await items.insert({ _id: 'x', name: 'first', expiresAt: past() });
    await items.insert({ _id: 'x', name: 'second' });
    expect(await items.findOne({ _id: 'x' })).toEqual({ _id: 'x', name: 'second' });
    await items.insert({ _id: 'y', counter: 5, expiresAt: past() });
    const upserted = await items.updateOne({ _id: 'y' }, { $inc: { counter: 1 } }, { upsert: true });
    expect(upserted).toEqual({ _id: 'y', counter: 1 });
  });

  test('deleteMany deletes matches, expired ones included, and counts them', async () => {
    const items = await seed();
    await items.insert({ _id: 'old', name: 'old', n: 0, expiresAt: past() });
    expect(await items.deleteMany({ n: { $lt: 2 } })).toBe(2);
    expect(ids(await items.find({}))).toEqual(['b', 'c', 'd']);
    expect(await items.deleteMany({ _id: 'nope' })).toBe(0);
  });

  test('ping answers while the database is there', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
