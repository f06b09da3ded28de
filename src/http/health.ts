import Router from '@koa/router';

import type { Store } from '../store/index.js';

/** Liveness (the process answers) and readiness (the store answers and keys are loaded). */
export function healthRoutes(store: Store, keysLoaded: () => boolean): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
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
  });
  return router;
}
