import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { MemoryStore } from './memory.js';
import { MongoStore } from './mongodb.js';
import type { Store } from './types.js';

export * from './types.js';
export { onStoreUnavailable } from './availability.js';
export { MemoryStore } from './memory.js';
export { MongoStore } from './mongodb.js';
export { appliedMigrations, runMigrations, SCHEMA_MIGRATIONS_COLLECTION, type Migration, type MigrationOptions } from './migrations.js';
export { withOperationTiming } from './timed.js';
export { upsertById } from './upsert-by-id.js';

/** The store the configuration asks for: MongoDB when MONGODB_URI is set, memory otherwise. */
export async function createStore(config: Config, logger: Logger): Promise<Store> {
  if (!config.mongodb) return new MemoryStore(config.storeSweepIntervalSeconds);
  return MongoStore.connect({
    uri: config.mongodb.uri,
    dbName: config.mongodb.dbName,
    connectAttempts: config.mongodb.connectAttempts,
    sweepIntervalSeconds: config.storeSweepIntervalSeconds,
    logger,
  });
}
