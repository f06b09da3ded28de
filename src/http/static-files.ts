import { readFileSync } from 'node:fs';

import Router from '@koa/router';

import { viewsDirectory } from './views-directory.js';

/** The one stylesheet, read once at start and served with a long cache. */
export function staticRoutes(): Router {
  const router = new Router();
  const css = readFileSync(`${viewsDirectory()}/site.css`, 'utf8');
  router.get('/static/site.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  return router;
}
