import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

const GENERIC_DESCRIPTION = 'client authentication failed';

/**
 * A refused private_key_jwt assertion of a known client says why (`jwt expired`, `client assertion tokens must
 * only be used once`, an `aud` or `exp` we do not take): oidc-provider answers every invalid_client with the
 * same words and keeps the reason to itself, which leaves a partner guessing at a clock, a reused jti or a wrong
 * audience. The reason is about the assertion the caller made and holds no secret. Secret-based authentication
 * and an unknown client_id keep the one generic answer, so neither tells a wrong secret from a wrong client.
 * The error handler has set the body when it emits the event, so the description is replaced there.
 */
export function describeClientAssertionFailures(provider: Provider): void {
  const describe = (ctx: KoaContextWithOIDC, error: Error): void => {
    if (!(error instanceof errors.InvalidClientAuth) || typeof error.error_detail !== 'string') return;
    if (ctx.oidc.client === undefined || typeof ctx.oidc.params?.client_assertion !== 'string') return;
    const body: unknown = ctx.body;
    if (!isClientAuthenticationFailure(body)) return;
    body.error_description = `${GENERIC_DESCRIPTION}: ${error.error_detail}`;
  };
  // The endpoints that authenticate clients, by the event their error handler emits after answering.
  provider.on('grant.error', describe);
  provider.on('introspection.error', describe);
  provider.on('revocation.error', describe);
  provider.on('pushed_authorization_request.error', describe);
}

function isClientAuthenticationFailure(body: unknown): body is { error: string; error_description: string } {
  if (typeof body !== 'object' || body === null) return false;
  const { error, error_description: description } = body as Record<string, unknown>;
  return error === 'invalid_client' && description === GENERIC_DESCRIPTION;
}
