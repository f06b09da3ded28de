import type { KoaContextWithOIDC } from 'oidc-provider';

import { renderErrorPage } from '../http/error-page.js';

/**
 * oidc-provider's own error page pulls fonts from a third-party host; ours is self-contained and shows
 * only the standard error code and description, never internals.
 */
export async function renderProviderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
): Promise<void> {
  ctx.type = 'html';
  ctx.body = renderErrorPage({
    title: 'Something went wrong',
    message: out.error_description ?? 'The request could not be completed.',
    code: out.error,
  });
}
