/**
 * A cookie-keeping HTTP client for the server-rendered pages, for integration tests that walk the login and
 * dashboard pages without a browser: it follows redirects itself (so a test can look at each hop), keeps
 * cookies by name (paths ignored: one test server, one origin), and reads form fields out of the HTML.
 */
export interface PageResponse {
  status: number;
  /** Where this response came from (after redirects, for `follow`). */
  url: string;
  location: string | undefined;
  headers: Headers;
  html: string;
}

const MAX_REDIRECTS = 20;

export class PageClient {
  readonly #cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    /** Sent as User-Agent when given (pages that describe the device, e.g. the dashboard's sessions). */
    private readonly userAgent?: string,
  ) {}

  /** Drops one cookie, as a browser would when it expires (e.g. to forget a dashboard session). */
  forgetCookie(name: string): void {
    this.#cookies.delete(name);
    this.#cookies.delete(`${name}.sig`);
  }

  cookieNames(): string[] {
    return [...this.#cookies.keys()];
  }

  /** One request, no redirect followed. */
  async request(pathOrUrl: string, options: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<PageResponse> {
    const url = new URL(pathOrUrl, this.baseUrl).toString();
    const headers: Record<string, string> = { cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    if (this.userAgent) headers['user-agent'] = this.userAgent;
    if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: options.method ?? (options.form ? 'POST' : 'GET'),
      headers,
      body: options.form ? new URLSearchParams(options.form).toString() : undefined,
      redirect: 'manual',
    });
    for (const cookie of response.headers.getSetCookie()) this.#store(cookie);
    return { status: response.status, url, location: response.headers.get('location') ?? undefined, headers: response.headers, html: await response.text() };
  }

  /** A request, then every redirect after it (as GETs), up to a bound. */
  async follow(pathOrUrl: string, options: { form?: Record<string, string> } = {}): Promise<PageResponse> {
    let response = await this.request(pathOrUrl, options);
    for (let hop = 0; hop < MAX_REDIRECTS && response.location && response.status >= 300 && response.status < 400; hop += 1) {
      response = await this.request(new URL(response.location, response.url).toString());
    }
    return response;
  }

  /** Submits the page's form whose action matches, with its CSRF token and the given fields. */
  async submit(page: PageResponse, action: string | RegExp, fields: Record<string, string> = {}): Promise<PageResponse> {
    const target = formAction(page.html, action);
    return this.follow(new URL(target, page.url).toString(), { form: { csrf: csrfToken(page.html, target), ...fields } });
  }

  #store(header: string): void {
    const [pair = '', ...attributes] = header.split(';');
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator).trim();
    const value = pair.slice(separator + 1).trim();
    const expires = attributes.map((attribute) => attribute.trim()).find((attribute) => attribute.toLowerCase().startsWith('expires='));
    const expired = expires !== undefined && Date.parse(expires.slice('expires='.length)) <= Date.now();
    if (!value || expired) this.#cookies.delete(name);
    else this.#cookies.set(name, value);
  }
}

function decodeEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** The action of the first form on the page whose action equals (string) or matches (RegExp) the given one. */
export function formAction(html: string, action: string | RegExp): string {
  for (const match of html.matchAll(/<form[^>]*action="([^"]*)"/g)) {
    const candidate = decodeEntities(match[1] ?? '');
    if (typeof action === 'string' ? candidate === action : action.test(candidate)) return candidate;
  }
  throw new Error(`no form with action ${String(action)} on the page:\n${html.slice(0, 2000)}`);
}

/** The CSRF token inside the form with this action. */
export function csrfToken(html: string, action: string): string {
  const start = html.search(new RegExp(`<form[^>]*action="${action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  const form = html.slice(start, html.indexOf('</form>', start));
  const token = /name="csrf" value="([^"]+)"/.exec(form)?.[1];
  if (start < 0 || !token) throw new Error(`no CSRF token in the form ${action}`);
  return token;
}

/** Links of a page, as written in its markup. */
export function linksOf(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*href="([^"]*)"/g)].map((match) => match[1] ?? '');
}

/** The text of the element with this id (tags stripped), or undefined. */
export function textOf(html: string, id: string): string | undefined {
  const match = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return match?.[1] === undefined ? undefined : decodeEntities(match[1].replace(/<[^>]+>/g, '')).trim();
}

/** A form of a page: its action, its markup, and its hidden fields (CSRF token, record references). */
export interface PageForm {
  action: string;
  html: string;
  fields: Record<string, string>;
}

/** Every form of a page, for pages with several forms to the same action (one per listed record). */
export function formsOf(html: string): PageForm[] {
  return [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((match) => ({
    action: decodeEntities(match[1] ?? ''),
    html: match[0],
    fields: Object.fromEntries(
      [...(match[2] ?? '').matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)].map((input) => [
        decodeEntities(/name="([^"]*)"/.exec(input[0])?.[1] ?? ''),
        decodeEntities(/value="([^"]*)"/.exec(input[0])?.[1] ?? ''),
      ]),
    ),
  }));
}

/** The first form of a page whose markup contains the text (e.g. a button's label). */
export function formWith(html: string, text: string): PageForm {
  const form = formsOf(html).find((candidate) => candidate.html.includes(text));
  if (!form) throw new Error(`no form with ${text} on the page:\n${html.slice(0, 2000)}`);
  return form;
}
