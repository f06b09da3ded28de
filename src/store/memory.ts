import { copyDocument } from './document-copy.js';
import { applyUpdate, comparable, equalityFields, isExpired, matchesFilter } from './matching.js';
import {
  DuplicateKeyError,
  indexKey,
  type Collection,
  type ExpiryMode,
  type Filter,
  type FindOptions,
  type IndexSpec,
  type Store,
  type StoredDocument,
  type Update,
} from './types.js';

type Doc = StoredDocument & Record<string, unknown>;

function sortDocuments<T extends Doc>(documents: T[], sort: Record<string, 1 | -1>): T[] {
  const keys = Object.entries(sort);
  return documents.sort((a, b) => {
    for (const [field, direction] of keys) {
      const left = comparable(a[field]);
      const right = comparable(b[field]);
      if (left === right) continue;
      // Missing (or null) sorts first ascending, as in MongoDB.
      if (left === undefined || left === null) return -direction;
      if (right === undefined || right === null) return direction;
      return left < right ? -direction : direction;
    }
    return 0;
  });
}

class MemoryCollection<T extends StoredDocument> implements Collection<T> {
  readonly documents = new Map<string, Doc>();
  uniqueIndexes: IndexSpec[] = [];

  #select(filter: Filter): Doc[] {
    const now = Date.now();
    const id = filter._id;
    // The `_id` lookup is the hot path (every token lookup): answer it from the map directly.
    if (typeof id === 'string') {
      const document = this.documents.get(id);
      return document && !isExpired(document, now) && matchesFilter(document, filter) ? [document] : [];
    }
    const selected: Doc[] = [];
    for (const document of this.documents.values()) {
      if (!isExpired(document, now) && matchesFilter(document, filter)) selected.push(document);
    }
    return selected;
  }

  #assertUnique(candidate: Doc): void {
    for (const index of this.uniqueIndexes) {
      const fields = Object.keys(index.fields);
      if (index.sparse && candidate[fields[0] as string] === undefined) continue;
      for (const other of this.documents.values()) {
        // Like a MongoDB unique index, an expired but not yet swept document still holds its key.
        if (other._id === candidate._id) continue;
        if (fields.every((field) => other[field] === candidate[field])) {
          throw new DuplicateKeyError(`duplicate key for index ${fields.join(',')}`);
        }
      }
    }
  }

  async findOne(filter: Filter): Promise<T | null> {
    const [document] = this.#select(filter);
    return document ? (copyDocument(document) as unknown as T) : null;
  }

  async find(filter: Filter, options: FindOptions = {}): Promise<T[]> {
    let selected = this.#select(filter);
    if (options.sort) selected = sortDocuments(selected, options.sort);
    const start = options.skip ?? 0;
    const end = options.limit === undefined ? undefined : start + options.limit;
    return selected.slice(start, end).map((document) => copyDocument(document) as unknown as T);
  }

  async count(filter: Filter): Promise<number> {
    return this.#select(filter).length;
  }

  async insert(document: T): Promise<void> {
    const existing = this.documents.get(document._id);
    if (existing && !isExpired(existing, Date.now())) throw new DuplicateKeyError('duplicate _id');
    const copy = copyDocument(document) as unknown as Doc;
    this.#assertUnique(copy);
    this.documents.set(document._id, copy);
  }

  async replace(document: T): Promise<void> {
    const copy = copyDocument(document) as unknown as Doc;
    this.#assertUnique(copy);
    this.documents.set(document._id, copy);
  }

  async updateOne(filter: Filter, update: Update, options: { upsert?: boolean } = {}): Promise<T | null> {
    const [document] = this.#select(filter);
    if (document) {
      const updated = copyDocument(document);
      applyUpdate(updated, update, false);
      this.#assertUnique(updated);
      this.documents.set(updated._id, updated);
      return copyDocument(updated) as unknown as T;
    }
    if (!options.upsert) return null;
    const created = equalityFields(filter) as Doc;
    applyUpdate(created, update, true);
    if (typeof created._id !== 'string') throw new Error('an upsert needs an _id equality condition');
    const existing = this.documents.get(created._id);
    if (existing && !isExpired(existing, Date.now())) throw new DuplicateKeyError('duplicate _id');
    this.#assertUnique(created);
    this.documents.set(created._id, created);
    return copyDocument(created) as unknown as T;
  }

  async deleteMany(filter: Filter): Promise<number> {
    let deleted = 0;
    for (const document of [...this.documents.values()]) {
      if (matchesFilter(document, filter)) {
        this.documents.delete(document._id);
        deleted += 1;
      }
    }
    return deleted;
  }

  sweepExpired(now: number): number {
    let deleted = 0;
    for (const [id, document] of this.documents) {
      if (isExpired(document, now)) {
        this.documents.delete(id);
        deleted += 1;
      }
    }
    return deleted;
  }
}

/** The embedded store for development: everything is lost when the process ends. */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly #collections = new Map<string, MemoryCollection<StoredDocument>>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(sweepIntervalSeconds = 60) {
    this.#sweeper = setInterval(() => void this.sweepExpired(), sweepIntervalSeconds * 1000);
    this.#sweeper.unref();
  }

  collection<T extends StoredDocument>(name: string): Collection<T> {
    let collection = this.#collections.get(name);
    if (!collection) {
      collection = new MemoryCollection<StoredDocument>();
      this.#collections.set(name, collection);
    }
    return collection as unknown as Collection<T>;
  }

  async ensureIndexes(name: string, indexes: IndexSpec[]): Promise<void> {
    const collection = this.collection(name) as unknown as MemoryCollection<StoredDocument>;
    collection.uniqueIndexes = indexes.filter((index) => index.unique);
  }

  async dropIndexes(name: string, indexes: IndexSpec[]): Promise<void> {
    const collection = this.collection(name) as unknown as MemoryCollection<StoredDocument>;
    // Only unique indexes change what this store does; the others exist only on a database.
    const dropped = new Set(indexes.map((index) => indexKey(index.fields)));
    collection.uniqueIndexes = collection.uniqueIndexes.filter((kept) => !dropped.has(indexKey(kept.fields)));
  }

  expiryMode(): ExpiryMode {
    return 'memory';
  }

  async sweepExpired(): Promise<number> {
    const now = Date.now();
    let deleted = 0;
    for (const collection of this.#collections.values()) deleted += collection.sweepExpired(now);
    return deleted;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
