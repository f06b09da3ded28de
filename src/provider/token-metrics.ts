import type Provider from 'oidc-provider';
import type { Counter } from 'prom-client';

/** Errors that can arise before the provider checks the grant type, so the value may be anything. */
const UNCHECKED_GRANT_ERRORS = new Set(['unsupported_grant_type', 'invalid_request']);

function grantLabel(grantType: unknown, errorCode: string | undefined): string {
  if (typeof grantType !== 'string' || (errorCode !== undefined && UNCHECKED_GRANT_ERRORS.has(errorCode))) return 'other';
  // Past the provider's supported-grant check, grant_type is one of the registered grants: a bounded set.
  return grantType;
}

/** A handler that wrote its own answer (403 mfa_required, 429 slow_down) still ends in `grant.success`. */
function answeredOutcome(status: number, body: unknown): string {
  if (status === 200) return 'success';
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' && /^[a-z_]{1,40}$/.test(error) ? error : `http_${status}`;
}

/**
 * Counts token endpoint results by grant type and outcome (`success`, or the error code answered) from
 * the provider's own events, so every grant, custom ones included, is counted in one place and the same
 * way, without code in each handler.
 */
export function countTokenIssuance(provider: Provider, counter: Counter<'grant' | 'outcome'>): void {
  provider.on('grant.success', (ctx) => {
    // The handler ran, so the grant type passed the provider's supported-grant check.
    counter.inc({ grant: grantLabel(ctx.oidc.params?.grant_type, undefined), outcome: answeredOutcome(ctx.status, ctx.body) });
  });
  provider.on('grant.error', (ctx, error) => {
    const code = typeof (error as { error?: unknown }).error === 'string' ? (error as { error: string }).error : 'server_error';
    counter.inc({ grant: grantLabel(ctx.oidc.params?.grant_type, code), outcome: code });
  });
}
