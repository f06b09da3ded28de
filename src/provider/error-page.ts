import type { KoaContextWithOIDC } from 'oidc-provider';

import { ACCOUNT_PAGE_LINK, renderErrorPage } from '../http/error-page.js';

/**
 * The provider routes a browser navigates to: only these answer an error with a page. oidc-provider renders
 * one on any route whose caller prefers HTML, but the token, introspection, revocation and userinfo endpoints
 * answer RFC 6749 / RFC 6750 JSON whatever the Accept header says.
 */
const BROWSER_ROUTES = new Set(['authorization', 'resume', 'end_session', 'end_session_confirm', 'end_session_success', 'code_verification', 'device_resume']);

/**
 * oidc-provider's own error page pulls fonts from a third-party host; ours is self-contained and shows
 * only the standard error code and description, never internals.
 */
export async function renderProviderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
): Promise<void> {
  if (!BROWSER_ROUTES.has(ctx.oidc?.route ?? '')) {
    ctx.body = out;
    return;
  }
  ctx.type = 'html';
  ctx.body = renderErrorPage({
    title: 'Something went wrong',
    message: out.error_description ?? 'The request could not be completed.',
    code: out.error,
    // The request came from an application this page cannot send the person back to safely (its redirect_uri
    // may be what was wrong), so the way on is their account page.
    ...ACCOUNT_PAGE_LINK,
  });
}
