import { randomUUID } from 'node:crypto';

import type { Logger } from '../log/index.js';
import { DuplicateKeyError, type Collection, type Store, type StoredDocument } from './types.js';

/**
 * A change to stored documents that a release needs. Feature modules export their migrations and the
 * application runs them at start. `up` must be idempotent: a migration interrupted by a crash is run
 * again from the beginning by the next instance.
 */
export interface Migration {
  /** Unique and never reused, ordered by a numeric prefix, e.g. `0001-clients-schema-version`. */
  id: string;
  description: string;
  up(store: Store): Promise<void>;
}

export const SCHEMA_MIGRATIONS_COLLECTION = 'schema_migrations';

interface MigrationRecord extends StoredDocument {
  state: 'running' | 'done';
  /** The instance applying it; a lease, so a crashed instance does not block the others forever. */
  owner: string;
  startedAt: Date;
  finishedAt?: Date;
  description: string;
}

export interface MigrationOptions {
  /** How long a running migration's claim holds before another instance may take it over. */
  leaseMs: number;
  /** How often an instance waiting for another's migration looks again. */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Applies every migration not yet applied, in order, each exactly once even when several instances start
 * together: the claim is an insert of the migration id (atomic on every server, FerretDB included), the
 * losers wait until the winner marks it done. Returns the ids applied by this call.
 */
export async function runMigrations(store: Store, migrations: Migration[], logger: Logger, options: MigrationOptions): Promise<string[]> {
  assertUniqueIds(migrations);
  const records = store.collection<MigrationRecord>(SCHEMA_MIGRATIONS_COLLECTION);
  const owner = randomUUID();
  const applied: string[] = [];
  const ordered = [...migrations].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  for (const migration of ordered) {
    for (;;) {
      const claimed = await claim(records, migration, owner);
      if (claimed) {
        logger.info({ migration: migration.id }, 'applying migration');
        await migration.up(store);
        await records.replace({ ...claimed, state: 'done', finishedAt: new Date() });
        applied.push(migration.id);
        break;
      }
      const record = await records.findOne({ _id: migration.id });
      if (record?.state === 'done') break;
      if (record && Date.now() - record.startedAt.getTime() > options.leaseMs) {
        // The claimant died mid-way: release its claim (a delete only one instance can win) and retry.
        logger.warn({ migration: migration.id }, 'taking over a migration whose claim expired');
        await records.deleteMany({ _id: migration.id, owner: record.owner, state: 'running' });
        continue;
      }
      await sleep(options.pollMs ?? 200);
    }
  }
  return applied;
}

async function claim(
  records: Collection<MigrationRecord>,
  migration: Migration,
  owner: string,
): Promise<MigrationRecord | undefined> {
  const record: MigrationRecord = {
    _id: migration.id,
    state: 'running',
    owner,
    startedAt: new Date(),
    description: migration.description,
  };
  try {
    await records.insert(record);
    return record;
  } catch (error) {
    if (error instanceof DuplicateKeyError) return undefined;
    throw error;
  }
}

function assertUniqueIds(migrations: Migration[]): void {
  const seen = new Set<string>();
  for (const { id } of migrations) {
    if (seen.has(id)) throw new Error(`migration id ${id} is registered twice`);
    seen.add(id);
  }
}

/** Ids of the migrations applied to this store: its schema version. */
export async function appliedMigrations(store: Store): Promise<string[]> {
  const done = await store.collection<MigrationRecord>(SCHEMA_MIGRATIONS_COLLECTION).find({ state: 'done' });
  return done.map((record) => record._id).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}
