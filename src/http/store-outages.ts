import { AsyncLocalStorage } from 'node:async_hooks';

/** What one request learned on its way through code that cannot see the Koa context (e.g. the store). */
export interface RequestRecord {
  storeUnavailable: boolean;
}

const storage = new AsyncLocalStorage<RequestRecord>();

export function runWithRequestRecord<T>(record: RequestRecord, run: () => Promise<T>): Promise<T> {
  return storage.run(record, run);
}

/** Called by the store when the database cannot be reached during the current request. */
export function noteStoreUnavailable(): void {
  const record = storage.getStore();
  if (record) record.storeUnavailable = true;
}
