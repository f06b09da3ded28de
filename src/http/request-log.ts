import { randomUUID } from 'node:crypto';

import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';

/**
 * One structured line per request with a request id (also returned as X-Request-Id). Only method, path,
 * status and timing: never the query string, body or headers, which can carry credentials.
 */
export function requestLog(logger: Logger) {
  return function logRequest(ctx: Context, next: Next): Promise<void> {
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    // Below info nothing is written afterwards, so no frame of ours waits around the rest of the request.
    if (!logger.isLevelEnabled('info')) return next();
    return logWhenAnswered(ctx, next, logger, requestId);
  };
}

async function logWhenAnswered(ctx: Context, next: Next, logger: Logger, requestId: string): Promise<void> {
  const started = process.hrtime.bigint();
  try {
    await next();
  } finally {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    logger.info(
      // ctx.ip is the socket address, or X-Forwarded-For's client when TRUST_PROXY is on.
      { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ip: ctx.ip, durationMs: Math.round(durationMs * 10) / 10 },
      'request',
    );
  }
}

/** A logger bound to the request's id, for the few handlers that log something of their own. */
export function requestLogger(ctx: Context, logger: Logger): Logger {
  const requestId = ctx.state.requestId as unknown;
  return typeof requestId === 'string' ? logger.child({ requestId }) : logger;
}
