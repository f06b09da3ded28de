import { types } from 'node:util';

/**
 * A deep copy of a stored document: plain objects, arrays, Dates and primitives, which is all the Store
 * contract admits. Several times faster than structuredClone for these small documents (the memory store
 * copies on every read and write, so callers can never mutate stored state), and Dates come back as
 * Dates of the caller's realm.
 */
export function copyDocument<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (types.isDate(value)) return new Date((value as unknown as Date).getTime()) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => copyDocument(item)) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) copy[key] = copyDocument(field);
  }
  return copy as T;
}
