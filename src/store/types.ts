/**
 * The one persistence contract behind the whole server. Deliberately a small document API (a subset of
 * MongoDB's) so the memory and MongoDB implementations can behave identically and one conformance suite
 * can prove it. Every write that must be atomic is a single-document operation.
 */

export type Scalar = string | number | boolean | Date | null;

/** A condition on one top-level field: equality, or one of a few operators. */
export type Condition =
  | Scalar
  | { $exists: boolean }
  | { $in: Scalar[] }
  | { $lt: number | Date }
  | { $lte: number | Date }
  | { $gt: number | Date }
  | { $gte: number | Date }
  | { $ne: Scalar };

export type Filter = Record<string, Condition>;

export interface Update {
  $set?: Record<string, unknown>;
  $unset?: string[];
  $inc?: Record<string, number>;
  /** Fields written only when an upsert inserts the document. */
  $setOnInsert?: Record<string, unknown>;
}

/** Every stored document has a string id and may expire. */
export interface StoredDocument {
  _id: string;
  /** When set, the document is invisible from this instant on and is swept later. */
  expiresAt?: Date;
}

export interface FindOptions {
  limit?: number;
  skip?: number;
  sort?: Record<string, 1 | -1>;
}

export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  /** As in MongoDB, an expired document keeps its unique key until it is swept. */
  unique?: boolean;
  /** Only documents having the (first) field are indexed; needed for unique optional fields. */
  sparse?: boolean;
}

/**
 * What identifies an index: its fields, in order, with their directions (MongoDB's default index name is
 * built from the same). Two specs, or a spec and a server's index key, are the same index when these match.
 */
export function indexKey(fields: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.entries(fields));
}

export class DuplicateKeyError extends Error {
  override name = 'DuplicateKeyError';
}

/** The database cannot be reached; callers answer 503 and retry later. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface Collection<T extends StoredDocument> {
  /** The first matching, unexpired document. */
  findOne(filter: Filter): Promise<T | null>;
  /** Matching, unexpired documents. */
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  count(filter: Filter): Promise<number>;
  /** Inserts; throws DuplicateKeyError on a unique-index clash. */
  insert(document: T): Promise<void>;
  /** Inserts or replaces the document with this `_id`. */
  replace(document: T): Promise<void>;
  /**
   * Atomically updates the first unexpired document matching the filter and returns it as it is after
   * the update, or null when nothing matched. (On FerretDB v1, which does not make this atomic, the
   * MongoDB store serializes updates per document within the process; see README "Atomicity".) With `upsert`, a missing document is created from the
   * filter's equality conditions plus the update.
   */
  updateOne(filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<T | null>;
  /** Deletes matching documents (expired ones included) and returns how many. */
  deleteMany(filter: Filter): Promise<number>;
}

export type ExpiryMode = 'ttl-index' | 'sweeper' | 'memory';

export interface Store {
  readonly kind: 'memory' | 'mongodb';
  collection<T extends StoredDocument>(name: string): Collection<T>;
  /** Creates indexes idempotently, plus expiry handling on `expiresAt`. */
  ensureIndexes(collection: string, indexes: IndexSpec[]): Promise<void>;
  /** Drops the indexes on exactly these fields, where they exist (for migrations replacing an index). */
  dropIndexes(collection: string, indexes: IndexSpec[]): Promise<void>;
  /** How expired documents are removed; reported at start. */
  expiryMode(): ExpiryMode;
  /** Deletes expired documents now and returns how many (the periodic sweeper calls this). */
  sweepExpired(): Promise<number>;
  /** Resolves when the database answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
