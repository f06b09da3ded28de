import { types } from 'node:util';

import { copyDocument } from './document-copy.js';
import type { Condition, Filter, Scalar, Update } from './types.js';

type Doc = Record<string, unknown>;

/** Dates compare by instant (types.isDate: a Date from another realm is still a Date). */
export function comparable(value: unknown): number | string | boolean | null | undefined {
  if (types.isDate(value)) return value.getTime();
  return value as number | string | boolean | null | undefined;
}

function equals(actual: unknown, expected: Scalar): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(actual)) return actual.some((item) => comparable(item) === comparable(expected));
  return comparable(actual) === comparable(expected);
}

function isOperator(condition: Condition): condition is Exclude<Condition, Scalar> {
  return typeof condition === 'object' && condition !== null && !types.isDate(condition);
}

function matchesCondition(actual: unknown, condition: Condition): boolean {
  if (!isOperator(condition)) return equals(actual, condition);
  if ('$exists' in condition) return (actual !== undefined) === condition.$exists;
  if ('$in' in condition) return condition.$in.some((candidate) => equals(actual, candidate));
  if ('$ne' in condition) return !equals(actual, condition.$ne);
  const value = comparable(actual) as number;
  if (value === undefined || value === null) return false;
  if ('$lt' in condition) return value < (comparable(condition.$lt) as number);
  if ('$lte' in condition) return value <= (comparable(condition.$lte) as number);
  if ('$gt' in condition) return value > (comparable(condition.$gt) as number);
  if ('$gte' in condition) return value >= (comparable(condition.$gte) as number);
  return false;
}

/** MongoDB's semantics for the subset of query operators the Store contract allows. */
export function matchesFilter(document: Doc, filter: Filter): boolean {
  for (const [field, condition] of Object.entries(filter)) {
    if (!matchesCondition(document[field], condition)) return false;
  }
  return true;
}

/** The equality part of a filter: what an upsert writes into a new document. */
export function equalityFields(filter: Filter): Doc {
  const fields: Doc = {};
  for (const [field, condition] of Object.entries(filter)) {
    if (!isOperator(condition)) fields[field] = condition;
  }
  return fields;
}

/** Applies an update in place, as MongoDB would. */
export function applyUpdate(document: Doc, update: Update, inserting: boolean): void {
  if (inserting && update.$setOnInsert) Object.assign(document, copyDocument(update.$setOnInsert));
  if (update.$set) Object.assign(document, copyDocument(update.$set));
  for (const field of update.$unset ?? []) delete document[field];
  for (const [field, amount] of Object.entries(update.$inc ?? {})) {
    const current = document[field];
    document[field] = (typeof current === 'number' ? current : 0) + amount;
  }
}

export function isExpired(document: { expiresAt?: Date }, now: number): boolean {
  // types.isDate, not instanceof: a Date from another realm (e.g. inside jest's VM) is still a Date.
  return types.isDate(document.expiresAt) && document.expiresAt.getTime() <= now;
}
