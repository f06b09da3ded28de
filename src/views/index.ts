import { Eta } from 'eta';
import type { Context } from 'koa';

import { viewsDirectory } from '../http/views-directory.js';

/**
 * Server-rendered pages from views/*.eta (eta: small, maintained, auto-escaping by default). Pages get
 * the one stylesheet and no inline script, so the CSP can forbid inline code.
 */
export class Views {
  readonly #eta: Eta;

  constructor(cache = true) {
    this.#eta = new Eta({ views: viewsDirectory(), cache, autoEscape: true, autoTrim: false });
  }

  /** Renders a page template inside the shared layout. */
  render(template: string, data: Record<string, unknown>): string {
    return this.#eta.render(template, data);
  }

  /** The one error page (views/error.eta); a field the page leaves out is rendered as absent. */
  renderError(page: ErrorPageContent): string {
    return this.render('./error', { code: undefined, backUrl: undefined, backLabel: undefined, ...page });
  }
}

export interface ErrorPageContent {
  title: string;
  message: string;
  /** A stable machine-readable code shown small, for support requests. */
  code?: string;
  backUrl?: string;
  /** The words of the backUrl link, when "Go back" would not say where it leads. */
  backLabel?: string;
}

/** An error page answered by our own routes, which always give it a code. */
export interface ErrorPage extends ErrorPageContent {
  code: string;
}

/** Answers a request with the error page and a status. */
export function respondWithErrorPage(ctx: Context, views: Views, status: number, page: ErrorPage): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = views.renderError(page);
}
