import { createLogger } from '../../src/log/index.js';
import { MemoryStore, MongoStore, type Store } from '../../src/store/index.js';
import { testMongoUri, uniqueDatabaseName, type StoreKind } from './server.js';

/**
 * A fresh, empty store of the given kind: memory, or a new database on the test MongoDB-wire server (or the
 * database named, for another instance on the same data). The sweeper interval is long so tests that check
 * sweeping call it explicitly, never by waiting.
 */
export async function openStore(kind: StoreKind, mongoUri: string = testMongoUri(), databaseName: string = uniqueDatabaseName()): Promise<Store> {
  if (kind === 'memory') return new MemoryStore(3600);
  return MongoStore.connect({
    uri: mongoUri,
    dbName: databaseName,
    connectAttempts: 2,
    sweepIntervalSeconds: 3600,
    logger: createLogger('silent'),
  });
}

/** An instant in the past, for documents that must already count as expired. */
export const past = (): Date => new Date(Date.now() - 60_000);
/** An instant safely in the future. */
export const future = (): Date => new Date(Date.now() + 3_600_000);
