import { readFileSync } from 'node:fs';

import type { Context } from 'koa';

import { viewsDirectory } from './views-directory.js';

/** The one stylesheet, read once at start and served with a cache lifetime. */
export function stylesheetHandler() {
  const css = readFileSync(`${viewsDirectory()}/site.css`, 'utf8');
  return function serveStylesheet(ctx: Context): void {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
  };
}

/** The icon (served at /static/favicon.svg and /favicon.ico), read once at start. */
export function faviconHandler() {
  const favicon = readFileSync(`${viewsDirectory()}/favicon.svg`, 'utf8');
  return function serveFavicon(ctx: Context): void {
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = favicon;
  };
}
