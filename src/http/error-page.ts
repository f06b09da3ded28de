import { Views } from '../views/index.js';

let views: Views | undefined;

export interface ErrorPageContent {
  title: string;
  message: string;
  code?: string;
  backUrl?: string;
  backLabel?: string;
}

/** The one error page (views/error.eta): our stylesheet only, no script, no third-party resource. */
export function renderErrorPage(content: ErrorPageContent): string {
  views ??= new Views();
  return views.render('./error', { code: undefined, backUrl: undefined, backLabel: undefined, ...content });
}
