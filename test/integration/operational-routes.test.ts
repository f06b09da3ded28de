import { DEMO, postForm, testServer } from '../support/server.js';

describe('operational routes and security headers', () => {
  const running = testServer({ store: 'memory' });

  test('health, readiness and the stylesheet answer GET', async () => {
    const health = await fetch(`${running.server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${running.server.baseUrl}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', keys: 'ok' } });
    const css = await fetch(`${running.server.baseUrl}/static/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  test('other methods on those paths are 405 naming GET and HEAD', async () => {
    const response = await fetch(`${running.server.baseUrl}/healthz`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  test('a path nothing answers is 404 in the caller\'s form: a page under the page prefixes, JSON elsewhere', async () => {
    const pages = [
      await fetch(`${running.server.baseUrl}/dashboard/no-such-page`),
      await fetch(`${running.server.baseUrl}/dashboard/%`),
      await fetch(`${running.server.baseUrl}/account/no-such-page`),
      await fetch(`${running.server.baseUrl}/interaction/some-uid/no-such-step`),
    ];
    for (const response of pages) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/<title>[^<]*not found/i);
    }
    const api = [
      await fetch(`${running.server.baseUrl}/no-such-path`, { method: 'POST' }),
      await fetch(`${running.server.baseUrl}/token/no-such-endpoint`),
    ];
    for (const response of api) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: 'not_found', error_description: expect.any(String) });
    }
    // A browser asking for a page anywhere (someone typed the server's address) gets a page; an API client
    // naming JSON keeps the JSON, whatever it else accepts.
    const browserAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/', '/no-such-path']) {
      const response = await fetch(`${running.server.baseUrl}${path}`, { headers: browserAccept });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/<title>[^<]*not found/i);
    }
    const jsonFirst = await fetch(`${running.server.baseUrl}/no-such-path`, { headers: { accept: 'application/json, text/html;q=0.5' } });
    expect(jsonFirst.headers.get('content-type')).toMatch(/^application\/json/);
    // The Generate Token API answers everything in its own envelope.
    const compat = await fetch(`${running.server.baseUrl}/auth/v1/authentication/no-such-path`, { method: 'DELETE' });
    expect(compat.status).toBe(404);
    expect(compat.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await compat.json()).toEqual({ status: 404, message: expect.any(String) });
  });

  describe('a method the path does not take is 405 with Allow, read from the routes serving it', () => {
    const send = (method: string, path: string, headers: Record<string, string> = {}) => fetch(`${running.server.baseUrl}${path}`, { method, headers });

    test.each([
      // oidc-provider's endpoints: POST, and OPTIONS where it answers CORS preflights.
      ['GET', '/token', 'POST, OPTIONS'],
      ['PUT', '/token', 'POST, OPTIONS'],
      ['GET', '/token/introspection', 'POST, OPTIONS'],
      ['GET', '/token/revocation', 'POST, OPTIONS'],
      ['DELETE', '/jwks', 'GET, HEAD, OPTIONS'],
      ['POST', '/.well-known/openid-configuration', 'GET, HEAD, OPTIONS'],
      // Ours beside the provider: no CORS there, so OPTIONS is refused like any other method.
      ['GET', '/mfa/challenge', 'POST'],
      ['OPTIONS', '/mfa/challenge', 'POST'],
    ])('%s %s: RFC 6749 JSON, Allow: %s', async (method, path, allow) => {
      const response = await send(method, path);
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining(`${method} is not allowed`) });
    });

    test('a browser asking GET /token still gets JSON: the token endpoint answers RFC 6749 whatever Accept says', async () => {
      const response = await send('GET', '/token', { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' });
      expect(response.status).toBe(405);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    });

    test('HEAD gets the status and Allow without a body', async () => {
      const response = await send('HEAD', '/token');
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST, OPTIONS');
      expect(await response.text()).toBe('');
      // HEAD where GET is served is still answered.
      expect((await send('HEAD', '/healthz')).status).toBe(200);
    });

    test('pages: a rendered page under the page prefixes', async () => {
      for (const [method, path, allow] of [
        ['GET', '/interaction/some-uid/abort', 'POST'],
        ['PUT', '/auth', 'GET, HEAD'],
        ['DELETE', '/dashboard/credentials', 'GET, HEAD, POST'],
      ] as const) {
        const response = await send(method, path);
        expect({ method, path, status: response.status, allow: response.headers.get('allow') }).toEqual({ method, path, status: 405, allow });
        expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      }
    });

    test("the Generate Token API: its own envelope, and GET refused while COMPAT_TOKEN_GET is off", async () => {
      for (const method of ['GET', 'DELETE']) {
        const response = await send(method, '/auth/v1/authentication/token');
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
        expect(await response.json()).toEqual({ status: 405, message: expect.stringContaining('use POST') });
      }
    });
  });

  test("pages get helmet's headers with our CSP: sign-in pages, provider pages and unknown paths", async () => {
    const responses = [
      await fetch(`${running.server.baseUrl}/interaction/no-such-interaction`),
      await fetch(`${running.server.baseUrl}/auth?client_id=nobody`),
      await fetch(`${running.server.baseUrl}/no-such-path`),
    ];
    for (const response of responses) {
      const headers = response.headers;
      expect(headers.get('content-security-policy')).toBe(
        "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';object-src 'none';base-uri 'none';frame-ancestors 'none'",
      );
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
      // http issuer: no HSTS (it would be ignored, and would break local development on https later).
      expect(headers.get('strict-transport-security')).toBeNull();
      expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  test('JSON endpoints get the REST set: no sniffing, no framing, a CSP that loads nothing', async () => {
    const responses = [
      await fetch(`${running.server.baseUrl}/healthz`),
      await fetch(`${running.server.baseUrl}/.well-known/openid-configuration`),
      await fetch(`${running.server.baseUrl}/jwks`),
      await postForm(`${running.server.baseUrl}/token`, { grant_type: 'client_credentials' }, DEMO),
      await postForm(`${running.server.baseUrl}/token/introspection`, { token: 'unknown' }, DEMO),
    ];
    for (const response of responses) {
      const headers = response.headers;
      expect(response.status).toBe(200);
      expect(headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('cross-origin-opener-policy')).toBeNull();
      expect(headers.get('strict-transport-security')).toBeNull();
      expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
