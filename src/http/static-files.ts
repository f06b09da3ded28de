import { readFileSync } from 'node:fs';

import type { Context } from 'koa';

import { viewsDirectory } from './views-directory.js';

/** The one stylesheet, read once at start and served with a long cache. */
export function stylesheetHandler() {
  const css = readFileSync(`${viewsDirectory()}/site.css`, 'utf8');
  return function serveStylesheet(ctx: Context): void {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  };
}
