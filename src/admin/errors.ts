import type { Context, Next } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { z } from 'zod';

import { ClientValidationError } from '../clients/index.js';
import type { Logger } from '../log/index.js';
import { BODY_OVER_LIMIT } from '../http/errors.js';
import { DuplicateKeyError, StoreUnavailableError } from '../store/index.js';
import { clientFieldPath, fieldPath, providerMetadataRefusal } from './field-names.js';

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

/** Field errors from a zod failure of a request body or query (already named as the caller sent them). */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) (fields[fieldPath(issue.path)] ??= []).push(issue.message);
  return fields;
}

/**
 * One field's refusal: the description names the field as the request body does and says the problem, and
 * `fields` has the problem under that name (`_`, the body as a whole, is not named in the description).
 */
function fieldRefusal(field: string, problem: string): AdminApiError {
  return new AdminApiError(400, 'invalid_request', field === '_' ? problem : `${field}: ${problem}`, { [field]: [problem] });
}

function isClientHttpError(error: unknown): error is Error & { status: number; expose?: boolean } {
  const status = (error as { status?: unknown } | null)?.status;
  return error instanceof Error && typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The admin API's error boundary: JSON `{error, error_description, fields?}`, never a stack trace. Store
 * duplicates become 409, the client registry's and the provider's client-metadata refusals 400 with the field
 * named as the request body names it.
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
      // The registry and the provider name fields their own way (redirectUris.0, client_name): named as sent.
      else if (error instanceof ClientValidationError) answer = fieldRefusal(clientFieldPath(error.path), error.problem);
      else if (error instanceof oidcErrors.InvalidClientMetadata) {
        const { field, problem } = providerMetadataRefusal(error.error_description ?? 'invalid client metadata');
        answer = fieldRefusal(field, problem);
      } else if (error instanceof StoreUnavailableError) {
        ctx.set('Retry-After', '5');
        answer = new AdminApiError(503, 'temporarily_unavailable', 'the database is unavailable, retry later');
      } else if (isClientHttpError(error)) {
        // Body parser and router refusals (malformed JSON, too large, 405): messages written for clients.
        const description = error.status === 413 ? BODY_OVER_LIMIT : error.expose ? error.message : 'the request is invalid';
        answer = new AdminApiError(error.status, error.status === 405 ? 'method_not_allowed' : 'invalid_request', description);
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
