import { DuplicateKeyError, type Collection, type Filter, type Store, type StoredDocument, type Update } from '../../src/store/index.js';

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

/**
 * The store, where the first upsert of each `_id` in `collectionName` loses the race to insert it, as on MongoDB
 * when two requests upsert a new `_id` at once: the other request's upsert (the same update) inserts the document
 * first, and this one is answered with the DuplicateKeyError. `lost` lists the ids that lost.
 */
export function storeLosingFirstInserts(store: Store, collectionName: string): { store: Store; lost: string[] } {
  const lost: string[] = [];
  const losingUpdateOne =
    <T extends StoredDocument>(real: Collection<T>) =>
    async (filter: Filter, update: Update, options?: { upsert?: boolean }): Promise<T | null> => {
      const id = filter._id;
      if (options?.upsert && typeof id === 'string' && !lost.includes(id) && (await real.findOne({ _id: id })) === null) {
        lost.push(id);
        await real.updateOne(filter, update, options);
        throw new DuplicateKeyError('duplicate _id: another request inserted it first');
      }
      return real.updateOne(filter, update, options);
    };
  const collection = <T extends StoredDocument>(name: string): Collection<T> => {
    const real = store.collection<T>(name);
    if (name !== collectionName) return real;
    return new Proxy(real, {
      get: (target, key) => {
        if (key === 'updateOne') return losingUpdateOne(target);
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  const losing = new Proxy(store, {
    get: (target, key) => {
      if (key === 'collection') return collection;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: losing, lost };
}
