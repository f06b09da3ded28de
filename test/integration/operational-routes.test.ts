import { DEMO, postForm, startTestServer, type TestServer } from '../support/server.js';

describe('operational routes and security headers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: 'memory' });
  });
  afterAll(async () => {
    await server.close();
  });

  test('health, readiness and the stylesheet answer GET', async () => {
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', keys: 'ok' } });
    const css = await fetch(`${server.baseUrl}/static/site.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  test('other methods on those paths are not answered by them', async () => {
    const response = await fetch(`${server.baseUrl}/healthz`, { method: 'POST' });
    expect(response.status).toBe(404);
  });

  test('a path or method nothing answers is 404 in the caller\'s form: a page under the page prefixes, JSON elsewhere', async () => {
    const pages = [
      await fetch(`${server.baseUrl}/dashboard/no-such-page`),
      await fetch(`${server.baseUrl}/dashboard/%`),
      await fetch(`${server.baseUrl}/account/no-such-page`),
      await fetch(`${server.baseUrl}/interaction/some-uid/login`),
      await fetch(`${server.baseUrl}/auth`, { method: 'PUT' }),
    ];
    for (const response of pages) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/<title>[^<]*not found/i);
    }
    const api = [
      await fetch(`${server.baseUrl}/token`),
      await fetch(`${server.baseUrl}/token/introspection`, { method: 'PUT' }),
      await fetch(`${server.baseUrl}/jwks`, { method: 'DELETE' }),
      await fetch(`${server.baseUrl}/mfa/challenge`),
      await fetch(`${server.baseUrl}/no-such-path`, { method: 'POST' }),
    ];
    for (const response of api) {
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: 'not_found', error_description: expect.any(String) });
    }
    // A browser asking for a page anywhere (someone typed the server's address) gets a page; an API client
    // naming JSON keeps the JSON, whatever it else accepts.
    const browserAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/', '/no-such-path', '/token']) {
      const response = await fetch(`${server.baseUrl}${path}`, { headers: browserAccept });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/<title>[^<]*not found/i);
    }
    const jsonFirst = await fetch(`${server.baseUrl}/no-such-path`, { headers: { accept: 'application/json, text/html;q=0.5' } });
    expect(jsonFirst.headers.get('content-type')).toMatch(/^application\/json/);
    // The Generate Token API answers everything in its own envelope.
    const compat = await fetch(`${server.baseUrl}/auth/v1/authentication/token`, { method: 'DELETE' });
    expect(compat.status).toBe(404);
    expect(compat.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await compat.json()).toEqual({ status: 404, message: expect.any(String) });
  });

  test("pages get helmet's headers with our CSP: sign-in pages, provider pages and unknown paths", async () => {
    const responses = [
      await fetch(`${server.baseUrl}/interaction/no-such-interaction`),
      await fetch(`${server.baseUrl}/auth?client_id=nobody`),
      await fetch(`${server.baseUrl}/no-such-path`),
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
      await fetch(`${server.baseUrl}/healthz`),
      await fetch(`${server.baseUrl}/.well-known/openid-configuration`),
      await fetch(`${server.baseUrl}/jwks`),
      await postForm(`${server.baseUrl}/token`, { grant_type: 'client_credentials' }, DEMO),
      await postForm(`${server.baseUrl}/token/introspection`, { token: 'unknown' }, DEMO),
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
