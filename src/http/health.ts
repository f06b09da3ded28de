import type { Context } from 'koa';

import type { Store } from '../store/index.js';

/** Liveness: the process answers. Never depends on the database, so an outage does not get us restarted. */
export function livenessHandler(ctx: Context): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

/** Readiness: the store answers and signing keys are loaded. */
export function readinessHandler(store: Store, keysLoaded: () => boolean) {
  return async function answerReadiness(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const checks = { store: 'ok', keys: keysLoaded() ? 'ok' : 'missing' };
    try {
      await store.ping();
    } catch {
      checks.store = 'unavailable';
    }
    const ready = checks.store === 'ok' && checks.keys === 'ok';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  };
}
