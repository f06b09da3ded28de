import { MongoClient, MongoServerError, type Db, type Document, type Filter as MongoFilterOf } from 'mongodb';

import type { Logger } from '../log/index.js';
import { reportStoreUnavailable } from './availability.js';
import { InsertBatcher } from './insert-batcher.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  DuplicateKeyError,
  indexKey,
  StoreUnavailableError,
  type Collection,
  type ExpiryMode,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Store,
  type StoredDocument,
  type Update,
} from './types.js';

/** Our documents use string ids, not ObjectIds. */
type StringIdDocument = Document & { _id: string };
type MongoFilter<T extends Document = StringIdDocument> = MongoFilterOf<T>;

const UNAVAILABLE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoServerClosedError',
]);

/** MongoDB's NamespaceNotFound: the collection does not exist (yet). */
const NAMESPACE_NOT_FOUND = 26;

/**
 * A unique-index clash. FerretDB v1 reports one raised by an update or replace as InternalError (code 1)
 * carrying SQLite's message instead of MongoDB's 11000.
 */
function isDuplicateKeyCode(code: unknown, message: string): boolean {
  return code === 11000 || (code === 1 && message.includes('UNIQUE constraint failed'));
}

function isDuplicateKey(error: MongoServerError): boolean {
  return isDuplicateKeyCode(error.code, error.message);
}

/** Driver errors become the Store's own: duplicates and "database unavailable" are the ones callers act on. */
function translateError(error: unknown): never {
  if (error instanceof MongoServerError && isDuplicateKey(error)) throw new DuplicateKeyError('duplicate key');
  if (error instanceof Error && UNAVAILABLE_ERRORS.has(error.name)) {
    reportStoreUnavailable();
    throw new StoreUnavailableError(`database unavailable: ${error.name}`);
  }
  throw error;
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    return translateError(error);
  }
}

/** Adds "not expired" to a filter: expired documents are never returned, even before they are swept. */
function unexpired(filter: Filter): MongoFilter {
  return {
    ...(filter),
    $or: [{ expiresAt: { $exists: false } }, { expiresAt: null }, { expiresAt: { $gt: new Date() } }],
  };
}

function toMongoUpdate(update: Update): Document {
  const mongoUpdate: Document = {};
  if (update.$set && Object.keys(update.$set).length > 0) mongoUpdate.$set = update.$set;
  if (update.$unset && update.$unset.length > 0) {
    mongoUpdate.$unset = Object.fromEntries(update.$unset.map((field) => [field, '']));
  }
  if (update.$inc && Object.keys(update.$inc).length > 0) mongoUpdate.$inc = update.$inc;
  if (update.$setOnInsert && Object.keys(update.$setOnInsert).length > 0) mongoUpdate.$setOnInsert = update.$setOnInsert;
  return mongoUpdate;
}

class MongoCollection<T extends StoredDocument> implements Collection<T> {
  constructor(
    private readonly db: Db,
    private readonly name: string,
    /** Present when the server's single-document updates are not atomic (FerretDB v1). */
    private readonly updateMutex: KeyedMutex | undefined,
    /**
     * FerretDB v1 answers an upsert by querying first (measured 3x slower than an insert), and almost every
     * replace creates a new token: there, replace tries a (batched) insert first.
     */
    private readonly insertBatcher: InsertBatcher | undefined,
  ) {}

  get #collection() {
    return this.db.collection<StringIdDocument>(this.name);
  }

  findOne(filter: Filter): Promise<T | null> {
    return guarded(async () => (await this.#collection.findOne(unexpired(filter))) as T | null);
  }

  find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    return guarded(async () => {
      let cursor = this.#collection.find(unexpired(filter));
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      return (await cursor.toArray()) as unknown as T[];
    });
  }

  count(filter: Filter): Promise<number> {
    return guarded(() => this.#collection.countDocuments(unexpired(filter)));
  }

  insert(document: T): Promise<void> {
    return guarded(async () => {
      // An expired document with the same id may linger until the sweep; it must not block reuse.
      await this.#collection.deleteOne({ _id: document._id, expiresAt: { $lte: new Date() } });
      await this.#collection.insertOne(document as unknown as StringIdDocument);
    });
  }

  replace(document: T): Promise<void> {
    return guarded(async () => {
      if (this.insertBatcher && (await this.insertBatcher.insert(document)) === 'inserted') return;
      await this.#collection.replaceOne({ _id: document._id }, document as unknown as StringIdDocument, {
        upsert: true,
      });
    });
  }

  updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<T | null> {
    if (!this.updateMutex) return this.#updateOne(filter, update, options);
    return this.updateMutex.run(`${this.name}:${JSON.stringify(filter._id ?? null)}`, () => this.#updateOne(filter, update, options));
  }

  #updateOne(filter: Filter, update: Update, options: { upsert?: boolean }): Promise<T | null> {
    return guarded(async () => {
      const mongoUpdate = toMongoUpdate(update);
      if (options.upsert && typeof filter._id === 'string') {
        await this.#collection.deleteOne({ _id: filter._id, expiresAt: { $lte: new Date() } });
      }
      const result = await this.#collection.findOneAndUpdate(
        options.upsert ? (filter as MongoFilter) : unexpired(filter),
        Object.keys(mongoUpdate).length > 0 ? mongoUpdate : { $set: {} },
        { returnDocument: 'after', upsert: options.upsert ?? false },
      );
      return result as T | null;
    });
  }

  deleteMany(filter: Filter): Promise<number> {
    return guarded(async () => (await this.#collection.deleteMany(filter as MongoFilter)).deletedCount);
  }
}

export interface MongoStoreOptions {
  uri: string;
  dbName?: string | undefined;
  connectAttempts: number;
  sweepIntervalSeconds: number;
  logger: Logger;
}

/** The production store: the official MongoDB driver, one collection per model. */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  #expiryMode: ExpiryMode = 'ttl-index';
  readonly #sweptCollections = new Set<string>();
  #sweeper: NodeJS.Timeout | undefined;
  readonly #updateMutex: KeyedMutex | undefined;
  readonly #insertBatchers = new Map<string, InsertBatcher>();

  private constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly options: MongoStoreOptions,
    /** False on FerretDB v1, whose conditional updates and $inc can interleave (measured: lost updates). */
    readonly atomicUpdates: boolean,
  ) {
    this.#updateMutex = atomicUpdates ? undefined : new KeyedMutex();
  }

  /** Connects with exponential backoff; rejects with StoreUnavailableError after the last attempt. */
  static async connect(options: MongoStoreOptions): Promise<MongoStore> {
    let delay = 250;
    for (let attempt = 1; ; attempt += 1) {
      const client = new MongoClient(options.uri, {
        serverSelectionTimeoutMS: 3000,
        connectTimeoutMS: 3000,
        maxPoolSize: 20,
      });
      try {
        await client.connect();
        const db = client.db(options.dbName);
        await db.command({ ping: 1 });
        const buildInfo = await db.admin().command({ buildInfo: 1 });
        const atomicUpdates = buildInfo.ferretdbVersion === undefined;
        if (!atomicUpdates) {
          options.logger.warn(
            { server: `FerretDB ${String(buildInfo.ferretdbVersion)}` },
            'this database server does not apply single-document updates atomically: updates are serialized ' +
              'within this process, but several instances sharing it can race (use MongoDB in production)',
          );
        }
        return new MongoStore(client, db, options, atomicUpdates);
      } catch (error) {
        await client.close().catch(() => undefined);
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt >= options.connectAttempts) {
          throw new StoreUnavailableError(
            `could not connect to MongoDB after ${attempt} attempts: ${reason} (check MONGODB_URI, and that the database is up and reachable from this host)`,
          );
        }
        // The reason, so that an operator watching a slow start sees why (refused, unknown host, authentication).
        options.logger.warn({ attempt, retryInMs: delay, reason }, 'MongoDB not reachable yet, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  get databaseName(): string {
    return this.db.databaseName;
  }

  collection<T extends StoredDocument>(name: string): Collection<T> {
    return new MongoCollection<T>(this.db, name, this.#updateMutex, this.#insertBatcher(name));
  }

  /** One batcher per collection, on FerretDB only: MongoDB's upsert needs no help. */
  #insertBatcher(name: string): InsertBatcher | undefined {
    if (this.atomicUpdates) return undefined;
    let batcher = this.#insertBatchers.get(name);
    if (!batcher) {
      batcher = new InsertBatcher(() => this.db.collection(name), isDuplicateKeyCode);
      this.#insertBatchers.set(name, batcher);
    }
    return batcher;
  }

  async ensureIndexes(name: string, indexes: IndexSpec[]): Promise<void> {
    const collection = this.db.collection(name);
    await guarded(async () => {
      for (const index of indexes) {
        await collection.createIndex(index.fields, {
          ...(index.unique ? { unique: true } : {}),
          ...(index.sparse ? { sparse: true } : {}),
        });
      }
    });
    await this.#ensureExpiry(name);
  }

  async dropIndexes(name: string, indexes: IndexSpec[]): Promise<void> {
    const collection = this.db.collection(name);
    await guarded(async () => {
      let existing: Document[];
      try {
        existing = await collection.listIndexes().toArray();
      } catch (error) {
        // No such collection: no index to drop.
        if (error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND) return;
        throw error;
      }
      // Matched by key, not by name: an index created by hand or by another tool may be named otherwise.
      const wanted = new Set(indexes.map((index) => indexKey(index.fields)));
      for (const index of existing) {
        const key = index.key as Record<string, unknown> | undefined;
        if (key && typeof index.name === 'string' && wanted.has(indexKey(key))) {
          await collection.dropIndex(index.name);
        }
      }
    });
  }

  async #ensureExpiry(name: string): Promise<void> {
    if (this.#expiryMode === 'ttl-index') {
      try {
        await this.db.collection(name).createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
        return;
      } catch (error) {
        if (!(error instanceof MongoServerError)) translateError(error);
        // FerretDB (and some managed services) refuse TTL indexes: fall back to sweeping.
        this.#expiryMode = 'sweeper';
      }
    }
    await guarded(() => this.db.collection(name).createIndex({ expiresAt: 1 }));
    this.#sweptCollections.add(name);
    this.#startSweeper();
  }

  #startSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      void this.sweepExpired().catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'sweeping expired documents failed; will retry');
      });
    }, this.options.sweepIntervalSeconds * 1000);
    this.#sweeper.unref();
  }

  /** Deletes expired documents from every collection that relies on sweeping. */
  async sweepExpired(): Promise<number> {
    let deleted = 0;
    for (const name of this.#sweptCollections) {
      deleted += await guarded(
        async () => (await this.db.collection(name).deleteMany({ expiresAt: { $lte: new Date() } })).deletedCount,
      );
    }
    return deleted;
  }

  expiryMode(): ExpiryMode {
    return this.#expiryMode;
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.db.command({ ping: 1 });
    });
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.client.close();
  }
}
