import { randomUUID } from 'node:crypto';

import type { Context, Next } from 'koa';

import type { Logger } from '../log/index.js';

/**
 * One structured line per request with a request id (also returned as X-Request-Id). Only method, path,
 * status and timing: never the query string, body or headers, which can carry credentials.
 * `ctx.state.log` is a child logger bound to the request id, built only when a handler first uses it
 * (most requests never log anything themselves, and a pino child per request is measurable under load).
 */
export function requestLog(logger: Logger) {
  return async function logRequest(ctx: Context, next: Next): Promise<void> {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      configurable: true,
      enumerable: false,
      get: () => (child ??= logger.child({ requestId })),
    });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      if (logger.isLevelEnabled('info')) {
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        logger.info(
          // ctx.ip is the socket address, or X-Forwarded-For's client when TRUST_PROXY is on.
          { requestId, method: ctx.method, path: ctx.path, status: ctx.status, ip: ctx.ip, durationMs: Math.round(durationMs * 10) / 10 },
          'request',
        );
      }
    }
  };
}
