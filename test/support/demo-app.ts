import { createHash, randomBytes } from 'node:crypto';

import { csrfToken, formAction, type PageClient, type PageResponse } from './page-client.js';

/** The seeded public client's redirect URI (the config default): nothing listens there in tests. */
export const DEMO_APP_CALLBACK = 'http://localhost:8080/callback';

/**
 * An authorization request of the seeded public client `demo-app` at `origin` (PKCE S256; the code verifier is
 * not kept, so the code itself is not redeemed: for tests about the pages and the session).
 */
export function demoAppAuthorizationUrl(origin: string, redirectUri: string = DEMO_APP_CALLBACK, extra: Record<string, string> = {}): string {
  const parameters = new URLSearchParams({
    client_id: 'demo-app',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: redirectUri,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${origin}/auth?${parameters.toString()}`;
}

/** Follows redirects while they stay on the server: the last page, or the app callback it was sent to. */
export async function followToDemoApp(client: PageClient, first: PageResponse): Promise<{ page: PageResponse; callback?: URL }> {
  let page = first;
  for (let hop = 0; hop < 20 && page.location && page.status >= 300 && page.status < 400; hop += 1) {
    const next = new URL(page.location, page.url);
    if (next.href.startsWith(DEMO_APP_CALLBACK)) return { page, callback: next };
    page = await client.request(next.href);
  }
  return { page };
}

/** Submits a form of the page (with its CSRF token) and follows redirects only while they stay on the server. */
export async function submitToDemoApp(
  client: PageClient,
  page: PageResponse,
  action: RegExp,
  fields: Record<string, string>,
): Promise<{ page: PageResponse; callback?: URL }> {
  const target = formAction(page.html, action);
  return followToDemoApp(client, await client.request(new URL(target, page.url).toString(), { form: { csrf: csrfToken(page.html, target), ...fields } }));
}

/** Starts a demo-app authorization with this state and answers the login page it leads to. */
export async function openDemoAppLoginPage(client: PageClient, state: string): Promise<PageResponse> {
  const { page } = await followToDemoApp(client, await client.request(demoAppAuthorizationUrl(client.baseUrl, DEMO_APP_CALLBACK, { state })));
  if (page.status !== 200) throw new Error(`the demo-app authorization stopped at ${page.url} (${page.status})`);
  return page;
}

/**
 * Starts a demo-app authorization with this state, gives the person's password, and opens the second-factor page
 * on emailed codes: the page asking for the password's second step, and the one with "email me a code".
 */
export async function openDemoAppEmailCodePage(
  client: PageClient,
  person: { email: string; password: string },
  state: string,
): Promise<{ factorPage: PageResponse; emailPage: PageResponse }> {
  const login = await openDemoAppLoginPage(client, state);
  const factorPage = await client.submit(login, /\/login$/, { username: person.email, password: person.password });
  const emailPage = await client.follow(`${new URL(formAction(factorPage.html, /\/mfa$/), factorPage.url).pathname}?method=email`);
  return { factorPage, emailPage };
}
