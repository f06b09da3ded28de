import type { Histogram } from 'prom-client';

import type { Collection, Store, StoredDocument } from './types.js';

type CollectionMethod = 'findOne' | 'find' | 'count' | 'insert' | 'replace' | 'updateOne' | 'deleteMany';

const TIMED_METHODS: readonly CollectionMethod[] = ['findOne', 'find', 'count', 'insert', 'replace', 'updateOne', 'deleteMany'];

/**
 * A Store that reports each collection operation's latency (labelled by operation only, to keep the
 * series count fixed). Wrappers are built once per collection name, so the cost per call is one timer.
 */
export function withOperationTiming(store: Store, histogram: Histogram<'operation'>): Store {
  const wrapped = new Map<string, Collection<StoredDocument>>();
  return {
    kind: store.kind,
    collection<T extends StoredDocument>(name: string): Collection<T> {
      let collection = wrapped.get(name);
      if (!collection) {
        collection = timeCollection(store.collection<StoredDocument>(name), histogram);
        wrapped.set(name, collection);
      }
      return collection as unknown as Collection<T>;
    },
    ensureIndexes: (collection, indexes) => store.ensureIndexes(collection, indexes),
    dropIndexes: (collection, indexes) => store.dropIndexes(collection, indexes),
    expiryMode: () => store.expiryMode(),
    sweepExpired: () => store.sweepExpired(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

function timeCollection<T extends StoredDocument>(inner: Collection<T>, histogram: Histogram<'operation'>): Collection<T> {
  const timed = {} as Record<CollectionMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of TIMED_METHODS) {
    const original = (inner[method] as (...args: unknown[]) => Promise<unknown>).bind(inner);
    // The labelled child is resolved once: per call there is no label lookup, only a clock read and an observe.
    const series = histogram.labels(method);
    timed[method] = (...args: unknown[]) => {
      const started = performance.now();
      const observe = () => series.observe((performance.now() - started) / 1000);
      const result = original(...args);
      // Observed beside the caller's own continuation rather than wrapping it in another async frame.
      result.then(observe, observe);
      return result;
    };
  }
  return timed as unknown as Collection<T>;
}
