import type Provider from 'oidc-provider';
import type { Counter } from 'prom-client';

/** Errors that can arise before the provider checks the grant type, so the value may be anything. */
const UNCHECKED_GRANT_ERRORS = new Set(['unsupported_grant_type', 'invalid_request']);

function grantLabel(grantType: unknown, errorCode: string | undefined): string {
  if (typeof grantType !== 'string' || (errorCode !== undefined && UNCHECKED_GRANT_ERRORS.has(errorCode))) return 'other';
  // Past the provider's supported-grant check, grant_type is one of the registered grants: a bounded set.
  return grantType;
}

/**
 * Counts token endpoint results by grant type and outcome (`success` or the OAuth error code) from the
 * provider's own events, so every grant, custom ones included, is counted without touching its handler.
 */
export function countTokenIssuance(provider: Provider, counter: Counter<'grant' | 'outcome'>): void {
  provider.on('grant.success', (ctx) => {
    counter.inc({ grant: grantLabel(ctx.oidc.params?.grant_type, undefined), outcome: 'success' });
  });
  provider.on('grant.error', (ctx, error) => {
    const code = typeof (error as { error?: unknown }).error === 'string' ? (error as { error: string }).error : 'server_error';
    counter.inc({ grant: grantLabel(ctx.oidc.params?.grant_type, code), outcome: code });
  });
}
