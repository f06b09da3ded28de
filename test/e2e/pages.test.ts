import { openWatchedPage } from './support/browser.js';
import { serverAndChromium } from './support/server-and-chromium.js';

describe('pages in Chromium', () => {
  const running = serverAndChromium({ store: 'memory' });

  test('an authorization request for an unknown client shows our error page, with no console error', async () => {
    const watched = await openWatchedPage(running.browser);
    const response = await watched.page.goto(
      `${running.server.baseUrl}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=http://localhost:8080/callback`,
    );
    expect(response?.status()).toBe(400);
    await expect(watched.page.locator('h1').textContent()).resolves.toBe('Something went wrong');
    expect(await watched.page.locator('code').textContent()).toBe('invalid_client');
    const css = String(await watched.page.evaluate('getComputedStyle(document.body).fontFamily'));
    expect(css).toContain('system-ui');
    await watched.screenshot('error-page');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('logout without a session goes straight to the signed-out page (its auto-submit script passes our CSP)', async () => {
    const watched = await openWatchedPage(running.browser);
    await watched.page.goto(`${running.server.baseUrl}/session/end`);
    await watched.page.waitForURL(/\/session\/end\/success/);
    await expect(watched.page.locator('h1').textContent()).resolves.toBe('You are signed out');
    await watched.screenshot('logged-out');
    expect(watched.problems).toEqual([]);
    await watched.context.close();
  });

  test('pages carry a CSP without inline scripts and forbid framing', async () => {
    const response = await fetch(`${running.server.baseUrl}/session/end`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
