import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';

type BodyParserOptions = NonNullable<Parameters<typeof bodyParser>[0]>;

function hasHttpStatus(error: Error): boolean {
  return typeof (error as { status?: unknown }).status === 'number';
}

/**
 * @koa/bodyparser for every route that reads a body. Bytes that do not match their Content-Encoding (gzip,
 * deflate, br) make the parser throw zlib's own error, which carries no HTTP status, so the error
 * boundaries would answer 500 for what is the caller's mistake: that becomes a 400. Errors the parser
 * already gives a status (malformed JSON, too large, unsupported encoding) keep theirs.
 */
export function requestBodyParser(options: Omit<BodyParserOptions, 'onError'>) {
  return bodyParser({
    ...options,
    onError: (error, ctx) => {
      if (hasHttpStatus(error)) throw error;
      ctx.throw(400, 'the request body could not be decoded');
    },
  });
}

/** A string field of a parsed form, or '' (absent, repeated or not a string). */
export function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}
