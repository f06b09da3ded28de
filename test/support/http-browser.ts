/**
 * A browser without a browser, for integration tests of server-rendered pages over HTTP: one cookie jar,
 * redirects followed by hand (so every hop's cookies are kept), forms read from the returned HTML. It signs
 * in to the dashboard through the real /auth, login and consent pages. Chromium tests live in test/e2e.
 */
export interface PageResponse {
  status: number;
  url: string;
  headers: Headers;
  html: string;
}

/** A form on a page: where it posts and its hidden fields (csrf and the like). */
export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

const MAX_REDIRECTS = 20;

export class HttpBrowser {
  readonly #cookies = new Map<string, string>();

  constructor(
    private readonly baseUrl: string,
    private readonly userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36',
  ) {}

  /** GETs a page, following redirects to this server unless told not to. */
  async get(path: string, options: { followRedirects?: boolean } = {}): Promise<PageResponse> {
    return this.#request('GET', path, undefined, options.followRedirects ?? true);
  }

  /** POSTs a form (urlencoded) and follows the redirects that come back. */
  async post(path: string, form: Record<string, string>): Promise<PageResponse> {
    return this.#request('POST', path, new URLSearchParams(form).toString());
  }

  /** Submits a form found on a page, with its hidden fields plus the given ones. */
  async submit(form: PageForm, extra: Record<string, string> = {}): Promise<PageResponse> {
    return this.post(form.action, { ...form.fields, ...extra });
  }

  async #request(method: 'GET' | 'POST', path: string, body: string | undefined, followRedirects = true): Promise<PageResponse> {
    let url = new URL(path, this.baseUrl);
    let currentMethod = method;
    let currentBody = body;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, accept: 'text/html' };
      if (this.#cookies.size > 0) headers.cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      if (currentBody !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await fetch(url, { method: currentMethod, headers, body: currentBody, redirect: 'manual' });
      this.#keepCookies(response.headers.getSetCookie());
      const location = response.headers.get('location');
      // Only our own server's redirects are followed (an app's redirect_uri is not served here).
      const ownRedirect = location !== null && new URL(location, url).origin === new URL(this.baseUrl).origin;
      if (followRedirects && response.status >= 300 && response.status < 400 && ownRedirect) {
        url = new URL(location, url);
        currentMethod = 'GET';
        currentBody = undefined;
        continue;
      }
      return { status: response.status, url: url.toString(), headers: response.headers, html: await response.text() };
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${path}`);
  }

  #keepCookies(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
      if (!value || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  /** Signs in to the dashboard through the real pages (password, then consent the first time). */
  async signInToDashboard(username: string, password: string): Promise<PageResponse> {
    let page = await this.get('/dashboard/signin');
    if (page.html.includes('name="password"')) {
      page = await this.submit(formWith(page.html, 'name="password"'), { username, password });
    }
    if (page.html.includes('value="allow"')) {
      page = await this.submit(formWith(page.html, 'value="allow"'), { decision: 'allow' });
    }
    if (!page.html.includes('Your AuthToken dashboard')) throw new Error(`dashboard sign-in ended on ${page.url} (${page.status})`);
    return page;
  }
}

function decodeHtml(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Every form of a page. */
export function formsOf(html: string): Array<PageForm & { html: string }> {
  return [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((match) => ({
    action: decodeHtml(match[1] ?? ''),
    html: match[0],
    fields: Object.fromEntries(
      [...(match[2] ?? '').matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)].map((input) => [
        decodeHtml(/name="([^"]*)"/.exec(input[0])?.[1] ?? ''),
        decodeHtml(/value="([^"]*)"/.exec(input[0])?.[1] ?? ''),
      ]),
    ),
  }));
}

/** The first form of a page containing the given text (an input name, a button label). */
export function formWith(html: string, text: string): PageForm {
  const form = formsOf(html).find((candidate) => candidate.html.includes(text));
  if (!form) throw new Error(`no form with ${text} on the page`);
  return form;
}
