import type { Context, Next } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { z } from 'zod';

import { ClientValidationError } from '../clients/index.js';
import type { Logger } from '../log/index.js';
import { DuplicateKeyError, StoreUnavailableError } from '../store/index.js';

/** An admin API answer other than success: an HTTP status, a short code and a sentence. */
export class AdminApiError extends Error {
  override name = 'AdminApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Field name -> problems, for validation failures. */
    readonly fields?: Record<string, string[]>,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AdminApiError(404, 'not_found', `${what} not found`);

/** Field errors from a zod failure, keyed by dotted path (`redirect_uris.0`), `_` for the body itself. */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : '_';
    (fields[key] ??= []).push(issue.message);
  }
  return fields;
}

/** Maps oidc-provider's client metadata names back to the admin API's field names. */
const METADATA_FIELDS: Record<string, string> = { client_name: 'name', scope: 'scopes' };

/** oidc-provider's invalid_client_metadata names the field first ("redirect_uris must ..."). */
function clientMetadataFields(description: string): Record<string, string[]> {
  const first = /^([a-z_]+)\b/.exec(description)?.[1];
  const field = first ? (METADATA_FIELDS[first] ?? first) : '_';
  return { [field]: [description] };
}

function isClientHttpError(error: unknown): error is Error & { status: number; expose?: boolean } {
  const status = (error as { status?: unknown } | null)?.status;
  return error instanceof Error && typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The admin API's error boundary: JSON `{error, error_description, fields?}`, never a stack trace. Store
 * duplicates become 409, the provider's client-metadata refusals 400 with the field named.
 */
export function adminErrorBoundary(logger: Logger) {
  return async function handleAdminErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AdminApiError(404, 'not_found', 'no such resource');
    } catch (error) {
      let answer: AdminApiError;
      if (error instanceof AdminApiError) answer = error;
      else if (error instanceof DuplicateKeyError) answer = new AdminApiError(409, 'conflict', 'a resource with this id already exists');
      else if (error instanceof ClientValidationError) {
        answer = new AdminApiError(400, 'invalid_request', error.message, { [error.field]: [error.message] });
      } else if (error instanceof oidcErrors.InvalidClientMetadata) {
        const description = error.error_description ?? 'invalid client metadata';
        answer = new AdminApiError(400, 'invalid_request', description, clientMetadataFields(description));
      } else if (error instanceof StoreUnavailableError) {
        ctx.set('Retry-After', '5');
        answer = new AdminApiError(503, 'temporarily_unavailable', 'the database is unavailable, retry later');
      } else if (isClientHttpError(error)) {
        // Body parser and router refusals (malformed JSON, too large, 405): messages written for clients.
        answer = new AdminApiError(error.status, error.status === 405 ? 'method_not_allowed' : 'invalid_request', error.expose ? error.message : 'the request is invalid');
      } else {
        logger.error({ err: error, path: ctx.path, method: ctx.method }, 'admin API error');
        answer = new AdminApiError(500, 'server_error', 'an unexpected error occurred');
      }
      ctx.status = answer.status;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: answer.code, error_description: answer.message, ...(answer.fields ? { fields: answer.fields } : {}) };
    }
  };
}
