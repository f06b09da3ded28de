import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import Koa, { type Middleware } from 'koa';

import { routersUnder, routesUnder } from '../../src/http/routes-under.js';

/** A server answering with `middleware`, then with a fall-through body naming the path. */
async function serve(middleware: Middleware[]): Promise<{ text: (path: string, method?: string) => Promise<string>; close: () => Promise<void> }> {
  const app = new Koa();
  for (const entry of middleware) app.use(entry);
  app.use((ctx) => {
    ctx.body = `fell through: ${ctx.path}`;
  });
  const server: Server = createServer(app.callback()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    text: async (path, method = 'GET') => (await fetch(`${base}${path}`, { method })).text(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('routesUnder', () => {
  let served: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    const dashboard = new Router({ prefix: '/dashboard' });
    dashboard.get('/', (ctx) => {
      ctx.body = 'dashboard';
    });
    dashboard.get('/credentials', (ctx) => {
      ctx.body = 'credentials';
    });
    const single = new Router();
    single.post('/mfa/challenge', (ctx) => {
      ctx.body = 'challenge';
    });
    served = await serve([routesUnder(dashboard), routesUnder(single, '/mfa/challenge')]);
  });

  afterAll(() => served.close());

  const text = (path: string, method?: string) => served.text(path, method);

  test('requests under the prefix reach the router', async () => {
    expect(await text('/dashboard')).toBe('dashboard');
    expect(await text('/dashboard/credentials')).toBe('credentials');
    expect(await text('/mfa/challenge', 'POST')).toBe('challenge');
  });

  test('other paths, including look-alike prefixes, pass on untouched', async () => {
    expect(await text('/token', 'POST')).toBe('fell through: /token');
    expect(await text('/dashboards')).toBe('fell through: /dashboards');
    expect(await text('/mfa/challenged', 'POST')).toBe('fell through: /mfa/challenged');
    // Under the prefix but unmatched by the router: the router itself passes it on.
    expect(await text('/dashboard/nothing-here')).toBe('fell through: /dashboard/nothing-here');
  });

  test('a router without a prefix needs one named', () => {
    expect(() => routesUnder(new Router())).toThrow(/needs a path prefix/);
  });
});

describe('routersUnder', () => {
  let served: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    // Two routers under one prefix, as the dashboard and its security pages are, and one under another.
    const dashboard = new Router({ prefix: '/dashboard' });
    dashboard.get('/', (ctx) => {
      ctx.body = 'dashboard';
    });
    const security = new Router({ prefix: '/dashboard/security' });
    security.get('/', (ctx) => {
      ctx.body = 'security';
    });
    const api = new Router();
    api.post('/auth/v1/token', (ctx) => {
      ctx.body = 'api token';
    });
    served = await serve([routersUnder([{ router: dashboard }, { router: security }, { router: api, prefix: '/auth/v1' }])]);
  });

  afterAll(() => served.close());

  const text = (path: string, method?: string) => served.text(path, method);

  test('each router answers under its prefix, in order, falling through to the next', async () => {
    expect(await text('/dashboard')).toBe('dashboard');
    // Under /dashboard too: the dashboard router does not answer it and passes it to the security router.
    expect(await text('/dashboard/security')).toBe('security');
    expect(await text('/auth/v1/token', 'POST')).toBe('api token');
  });

  test('paths under no prefix, and unanswered paths under one, reach what follows', async () => {
    expect(await text('/token', 'POST')).toBe('fell through: /token');
    expect(await text('/dashboards')).toBe('fell through: /dashboards');
    expect(await text('/dashboard/nothing-here')).toBe('fell through: /dashboard/nothing-here');
    expect(await text('/auth/v1/other', 'POST')).toBe('fell through: /auth/v1/other');
  });

  test('every router needs a prefix', () => {
    expect(() => routersUnder([{ router: new Router() }])).toThrow(/needs a path prefix/);
  });
});
