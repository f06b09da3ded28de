import type { Collection, Store, StoredDocument } from '../../src/store/index.js';

/** One call of a collection method, as a watched store reports it. */
export interface StoreCall {
  collection: string;
  method: string;
  /** The first argument: the filter, or the document of an insert. */
  target: unknown;
}

/**
 * The store, with every collection call reported to `onCall` before it runs; a throw from `onCall` becomes that
 * call's rejection, as a failing database would answer. Proxies, not copies: the stores' methods use private
 * fields of the real objects.
 */
export function watchedStore(store: Store, onCall: (call: StoreCall) => void): Store {
  const collection = <T extends StoredDocument>(name: string): Collection<T> =>
    new Proxy(store.collection<T>(name), {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]): Promise<unknown> => {
          onCall({ collection: name, method: String(key), target: args[0] });
          return (value as (...callArgs: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
  return new Proxy(store, {
    get: (target, key) => {
      if (key === 'collection') return collection;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
