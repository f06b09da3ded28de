import { DuplicateKeyError, type Collection, type StoredDocument, type Update } from './types.js';

/**
 * An update of the document with this `_id`, creating it on first use (a counter, a sequence). Two first
 * updates may both try to insert it; the loser's DuplicateKeyError means it exists now, so the update runs once
 * more, against it. Only for a filter on `_id` alone: a conditional upsert's DuplicateKeyError says its
 * condition failed, which running it again would not change.
 */
export async function upsertById<T extends StoredDocument>(collection: Collection<T>, id: string, update: Update): Promise<T | null> {
  const run = () => collection.updateOne({ _id: id }, update, { upsert: true });
  return run().catch((error: unknown) => {
    if (error instanceof DuplicateKeyError) return run();
    throw error;
  });
}
