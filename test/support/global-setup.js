// Loaded by jest directly with Node's TypeScript type stripping (not through ts-jest), hence plain JS
// importing the .ts module by its real file name.
import { FerretDbProcess } from './ferretdb.ts';

/**
 * Gives every test file a MongoDB-wire server in TEST_MONGODB_URI: MONGODB_URI when set, otherwise a
 * FerretDB started here (and stopped in global-teardown). No server means a failing suite, never a skip.
 */
export default async function globalSetup() {
  if (process.env.MONGODB_URI) {
    process.env.TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const ferret = await FerretDbProcess.start();
  globalThis.__AUTHTOKEN_FERRETDB__ = ferret;
  process.env.TEST_MONGODB_URI = ferret.uri;
}
