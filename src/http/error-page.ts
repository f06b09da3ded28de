import { Views, type ErrorPageContent } from '../views/index.js';

let views: Views | undefined;

/**
 * The way on from an error page that knows no better place: the person's own account page (the dashboard),
 * which is always served and where they can sign in.
 */
export const ACCOUNT_PAGE_LINK = { backUrl: '/dashboard', backLabel: 'Go to your account' } as const;

/** The one error page (views/error.eta): our stylesheet only, no script, no third-party resource. */
export function renderErrorPage(content: ErrorPageContent): string {
  views ??= new Views();
  return views.renderError(content);
}
