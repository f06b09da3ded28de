import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { requestOrigin } from '../audit/index.js';
import { MAX_BODY_BYTES, respondWithError } from '../http/errors.js';
import { requestBodyParser } from '../http/request-body.js';
import { isUserGrantAllowed } from './grants/user-grant-policy.js';
import type { UserGrantDependencies } from './grants/user-grant-policy.js';

interface PresentedClient {
  clientId: string;
  clientSecret: string;
}

/** A credential of client_secret_basic: form-encoded (RFC 6749 2.3.1), so `+` is a space before %-decoding. */
function formDecoded(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/**
 * The client's id and secret, by exactly one method (RFC 6749 2.3: a client must not use more than one per
 * request; oidc-provider's /token refuses two the same way). `'two-methods'` when both were sent.
 */
function presentedClient(ctx: Context, body: Record<string, unknown>): PresentedClient | 'two-methods' | undefined {
  const header = ctx.get('authorization');
  const inBody = body.client_id !== undefined || body.client_secret !== undefined;
  if (header.toLowerCase().startsWith('basic ')) {
    if (inBody) return 'two-methods';
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString();
    const separator = decoded.indexOf(':');
    if (separator < 1) return undefined;
    try {
      return { clientId: formDecoded(decoded.slice(0, separator)), clientSecret: formDecoded(decoded.slice(separator + 1)) };
    } catch {
      return undefined;
    }
  }
  if (typeof body.client_id === 'string' && typeof body.client_secret === 'string') {
    return { clientId: body.client_id, clientSecret: body.client_secret };
  }
  return undefined;
}

/**
 * `POST /mfa/challenge` (Auth0's MFA API shape): with a live mfa_token and `channel=email`, emails a
 * one-time code to the account's owner. The caller authenticates as the client the mfa_token was issued
 * to, with its secret (client_secret_basic or client_secret_post; the clients allowed the password grant
 * are confidential ones).
 */
export const MFA_CHALLENGE_PATH = '/mfa/challenge';

export function mfaChallengeRoutes(provider: Provider, dependencies: UserGrantDependencies): Router {
  const { accounts, mfa, metrics, audit } = dependencies;
  const router = new Router();
  router.post(
    MFA_CHALLENGE_PATH,
    requestBodyParser({ enableTypes: ['form', 'json'], formLimit: `${MAX_BODY_BYTES}b`, jsonLimit: `${MAX_BODY_BYTES}b` }),
    async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      const body = (ctx.request.body ?? {}) as Record<string, unknown>;
      const presented = presentedClient(ctx, body);
      if (presented === 'two-methods') {
        respondWithError(ctx, 400, 'invalid_request', 'client authentication must only be provided using one mechanism');
        return;
      }
      const client = presented ? await provider.Client.find(presented.clientId).catch(() => undefined) : undefined;
      if (!presented || !client || !(await client.compareClientSecret(presented.clientSecret))) {
        ctx.set('WWW-Authenticate', 'Basic realm="authtoken"');
        respondWithError(ctx, 401, 'invalid_client', 'client authentication failed');
        return;
      }
      if (!isUserGrantAllowed(client)) {
        respondWithError(ctx, 400, 'unauthorized_client', 'the client is not allowed to use this grant type');
        return;
      }
      const decision = await dependencies.rateLimiterForChallenge.consume(ctx.ip);
      if (!decision.allowed) {
        metrics.lockouts.inc({ kind: 'rate_limit' });
        ctx.set('Retry-After', String(decision.retryAfterSeconds));
        respondWithError(ctx, 429, 'slow_down', 'too many requests from this address; retry later');
        return;
      }
      const mfaToken = typeof body.mfa_token === 'string' ? body.mfa_token : '';
      const channel = typeof body.channel === 'string' ? body.channel : typeof body.challenge_type === 'string' ? body.challenge_type : '';
      if (!mfaToken || !channel) {
        respondWithError(ctx, 400, 'invalid_request', "missing required parameter 'mfa_token' or 'channel'");
        return;
      }
      if (channel !== 'email' && channel !== 'oob') {
        respondWithError(ctx, 400, 'invalid_request', "unsupported channel; only 'email' is offered");
        return;
      }
      const context = await mfa.tokens.find(mfaToken, client.clientId);
      const account = context ? await accounts.findById(context.accountId) : undefined;
      if (!context || !account) {
        respondWithError(ctx, 400, 'invalid_grant', 'mfa_token is invalid, expired, spent or was issued to another client');
        return;
      }
      const outcome = await mfa.sendEmailCode(account);
      if (!outcome.sent && outcome.reason === 'not_a_method') {
        respondWithError(ctx, 400, 'invalid_request', 'email codes are not available for this account');
        return;
      }
      if (!outcome.sent && outcome.reason === 'unavailable') {
        ctx.set('Retry-After', '5');
        respondWithError(ctx, 503, 'temporarily_unavailable', 'the code could not be sent; retry shortly');
        return;
      }
      if (!outcome.sent && outcome.reason === 'hourly_cap') {
        // The same 429 shape as the cooldown: clients already wait for Retry-After there. The code sent last
        // still works, so the caller can finish with it or with another factor meanwhile.
        metrics.lockouts.inc({ kind: 'email_code_cap' });
        ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        respondWithError(ctx, 429, 'slow_down', 'too many codes were emailed to this account in the last hour; use the code already sent or another factor');
        return;
      }
      if (!outcome.sent) {
        ctx.set('Retry-After', String(outcome.retryAfterSeconds));
        respondWithError(ctx, 429, 'slow_down', 'a code was sent moments ago; wait before asking for another');
        return;
      }
      metrics.mfaChallenges.inc({ method: 'email', outcome: 'sent' });
      await audit.record({
        action: 'mfa.challenge.sent',
        actor: { type: 'client', id: client.clientId },
        accountId: account.customerId,
        clientId: client.clientId,
        outcome: 'success',
        ...requestOrigin(ctx),
        details: { channel: 'email' },
      });
      ctx.status = 200;
      ctx.body = { challenge_type: 'oob', channel: 'email', binding_method: 'prompt' };
    },
  );
  return router;
}
