import { performance } from 'node:perf_hooks';
import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';
import { StoreUnavailableError } from '../store/index.js';
import { ACCOUNT_PAGE_LINK, renderErrorPage } from './error-page.js';
import { underPathPrefixes } from './path-prefixes.js';
import type { StoreOutages } from './store-outages.js';

/**
 * Request bodies larger than this are refused before they are read. oidc-provider reads the bodies of its own
 * endpoints (/token, introspection, revocation) with a fixed limit of 56 KiB (lib/shared/selective_body.js) and
 * answers a larger one with a bare 400 "failed to parse the request body": one limit at its size lets every
 * body too large get the same 413 here first.
 */
export const MAX_BODY_BYTES = 56 * 1024;

const BODY_TOO_LARGE = 'the request body is too large';
/** The 413's description where the limit is MAX_BODY_BYTES (the admin API's JSON parser shares it). */
export const BODY_OVER_LIMIT = `${BODY_TOO_LARGE} (the limit is ${MAX_BODY_BYTES} bytes)`;

/** Paths serving people (HTML); everything else speaks RFC 6749 JSON, but for the compatibility API. */
const PAGE_PREFIXES = ['/interaction', '/dashboard', '/auth', '/session', '/account'];
const isUnderPagePrefix = underPathPrefixes(PAGE_PREFIXES);

/**
 * The Generate Token API (src/generate-token-api) keeps the envelope of the product it replaces,
 * `{status, message}`, for every answer: its callers parse that, not RFC 6749's.
 */
const COMPAT_API_PREFIX = '/auth/v1/';

type ErrorForm = 'page' | 'compat-json' | 'oauth-json';

function errorFormFor(ctx: Context): ErrorForm {
  if (ctx.path.startsWith(COMPAT_API_PREFIX)) return 'compat-json';
  return isUnderPagePrefix(ctx.path) ? 'page' : 'oauth-json';
}

/**
 * A path nothing serves, asked for by a browser (its Accept prefers HTML: someone typed the server's address):
 * a page. OAuth clients and curl (Accept JSON or anything) keep the JSON form.
 */
function isBrowserLookingForAPage(ctx: Context): boolean {
  return ctx.method === 'GET' && !ctx.path.startsWith(COMPAT_API_PREFIX) && ctx.accepts('json', 'html') === 'html';
}

function pageTitle(status: number): string {
  if (status === 503) return 'Service temporarily unavailable';
  if (status === 404) return 'Page not found';
  return 'Something went wrong';
}

/** Writes an error in the form the caller understands: a page for people, JSON in the API's own shape otherwise. */
export function respondWithError(ctx: Context, status: number, error: string, description: string, form: ErrorForm = errorFormFor(ctx)): void {
  ctx.status = status;
  ctx.remove('content-length');
  if (form === 'page') {
    ctx.type = 'html';
    // A form too large to read (a page's form, or any body over MAX_BODY_BYTES) is no dead end: the account
    // page is a way on. (The sign-in pages answer their own forms' 413 with a link back to the step.)
    const link = status === 413 ? ACCOUNT_PAGE_LINK : {};
    ctx.body = renderErrorPage({ title: pageTitle(status), message: description, code: error, ...link });
    return;
  }
  ctx.type = 'json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = form === 'compat-json' ? { status, message: description } : { error, error_description: description };
}

function isHttpError(error: unknown): error is Error & { status: number; expose?: boolean } {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/** The answer while the database is out of reach: retry shortly. */
function respondUnavailable(ctx: Context): void {
  ctx.set('Retry-After', '5');
  respondWithError(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable, retry later');
}

/**
 * The outermost middleware: no caller ever sees a stack trace or an internal message. A lost database
 * becomes 503 temporarily_unavailable (oidc-provider would answer 500 server_error), oversize bodies 413.
 */
export function errorBoundary(logger: Logger, outages: StoreOutages) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    const declaredLength = Number(ctx.get('content-length') || 0);
    if (declaredLength > MAX_BODY_BYTES) {
      respondWithError(ctx, 413, 'invalid_request', BODY_OVER_LIMIT);
      ctx.set('Connection', 'close');
      return;
    }
    const startedAt = performance.now();
    try {
      await next();
      // Nothing answered (an unknown path; a method the path does not take is answerMethodNotAllowed's 405):
      // Koa would send a bare text/plain "Not Found", neither a page nor RFC 6749 JSON.
      if (ctx.status === 404 && ctx.body == null) {
        const form = isBrowserLookingForAPage(ctx) ? 'page' : errorFormFor(ctx);
        respondWithError(ctx, 404, 'not_found', 'nothing is served at this path', form);
        return;
      }
      // A deliberate 503 (e.g. /readyz reporting the store down) keeps its own body.
      if (ctx.status >= 500 && ctx.status !== 503 && outages.since(startedAt)) respondUnavailable(ctx);
    } catch (error) {
      if (error instanceof StoreUnavailableError || outages.since(startedAt)) {
        respondUnavailable(ctx);
        return;
      }
      if (isHttpError(error) && error.status < 500) {
        const code = error.status === 404 ? 'not_found' : 'invalid_request';
        // A body parser's own limit (a chunked body has no Content-Length to refuse it by above; pages take
        // smaller forms): the same words, without a number that would not be this route's.
        const description = error.status === 413 ? BODY_TOO_LARGE : error.expose ? error.message : 'the request is invalid';
        respondWithError(ctx, error.status, code, description);
        return;
      }
      logger.error({ err: error, path: ctx.path, method: ctx.method }, 'unhandled error');
      respondWithError(ctx, 500, 'server_error', 'an unexpected error occurred');
    }
  };
}
