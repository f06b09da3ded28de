type Listener = () => void;
const listeners = new Set<Listener>();

/**
 * Subscribes to "the database could not be reached". Listeners run synchronously in the async context of
 * the failing operation, so a request-scoped listener can tell which request was affected.
 */
export function onStoreUnavailable(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportStoreUnavailable(): void {
  for (const listener of listeners) listener();
}
