import type { Context } from 'koa';
import type { z } from 'zod';

import { AdminApiError, fieldErrors } from './errors.js';

/** The parsed JSON body, or a 400 naming every offending field. */
export function parseBody<S extends z.ZodType>(ctx: Context, schema: S): z.output<S> {
  const result = schema.safeParse((ctx.request as { body?: unknown }).body ?? {});
  if (!result.success) throw new AdminApiError(400, 'invalid_request', 'the request body is invalid', fieldErrors(result.error));
  return result.data;
}

/** The parsed query string, or a 400 naming every offending parameter. */
export function parseQuery<S extends z.ZodType>(ctx: Context, schema: S): z.output<S> {
  const result = schema.safeParse(ctx.query);
  if (!result.success) throw new AdminApiError(400, 'invalid_request', 'the query is invalid', fieldErrors(result.error));
  return result.data;
}
