import { readFileSync } from 'node:fs';

import Router from '@koa/router';

import { viewsDirectory } from './views-directory.js';

/** The one stylesheet and the icon, read once at start and served with a cache lifetime. */
export function staticRoutes(): Router {
  const router = new Router();
  const css = readFileSync(`${viewsDirectory()}/site.css`, 'utf8');
  const favicon = readFileSync(`${viewsDirectory()}/favicon.svg`, 'utf8');
  router.get('/static/site.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  });
  router.get(['/static/favicon.svg', '/favicon.ico'], (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = favicon;
  });
  return router;
}
