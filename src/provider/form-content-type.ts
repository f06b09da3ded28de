import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { afterProviderAnswers } from './after-answer.js';

/** The provider's routes that read an application/x-www-form-urlencoded body. */
const FORM_ROUTES = ['token', 'introspection', 'revocation', 'pushed_authorization_request'] as const;

function carriesBody(ctx: KoaContextWithOIDC): boolean {
  return Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
}

/**
 * A form posted without a Content-Type (a hand-made HTTP request, some clients' defaults) is not read by
 * oidc-provider, which then answers "missing required parameter 'grant_type'" about a body that held it: the
 * partner looks for a typo that is not there. Any other wrong type already gets "only
 * application/x-www-form-urlencoded content-type bodies are supported"; this one gets the same words. A
 * request without a body keeps the missing-parameter answer, which is then right.
 */
export function explainFormsWithoutContentType(provider: Provider): void {
  afterProviderAnswers(provider, FORM_ROUTES, (ctx) => {
    if (ctx.status !== 400 || ctx.method !== 'POST' || ctx.get('content-type') !== '' || !carriesBody(ctx)) return;
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (body?.error !== 'invalid_request' || typeof body.error_description !== 'string') return;
    if (!body.error_description.startsWith('missing required parameter')) return;
    body.error_description = `only application/x-www-form-urlencoded content-type bodies are supported on POST ${ctx.path} (the request had no Content-Type)`;
  });
}
