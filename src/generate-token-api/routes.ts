import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { IdentityCheck } from '../accounts/index.js';
import { MAX_BODY_BYTES } from '../http/errors.js';
import { requestBodyParser } from '../http/request-body.js';
import { requestLogger } from '../http/request-log.js';
import type { Logger } from '../log/index.js';
import { MFA_OTP_GRANT_TYPE, runTokenRequest, withIdentityCheck, type TokenEndpointResult } from '../provider/index.js';
import type { InternalClientCredentials } from '../clients/index.js';
import { parseGenerateTokenRequest, type GenerateTokenRequest } from './parameters.js';

export const GENERATE_TOKEN_PATH = '/auth/v1/authentication/token';

export interface GenerateTokenApiDependencies {
  /** Serves oidc-provider's endpoints (the provider mounted in the app); the token request is handed to it. */
  provider: () => Middleware;
  client: InternalClientCredentials;
  logger: Logger;
  /** COMPAT_TOKEN_GET: also answer GET with query parameters (deprecated; off by default). */
  allowGet: boolean;
}

/** The product's envelope: `status` repeats the HTTP status, `message` says what went wrong in a few words. */
function respond(ctx: Context, status: number, body: Record<string, unknown>): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status, ...body };
}

const BAD_CREDENTIALS = 'invalid credentials';

/**
 * `POST /auth/v1/authentication/token`: the Generate Token API of the product we replace (customerId, key =
 * base64 of the password, email, country, scope, otp). It is a thin translation onto the password grant and
 * the mfa-otp grant of the internal `authtoken-compat` client, run by oidc-provider itself, so throttling,
 * per-IP rate limits, the second factor, audit, metrics and token issuance are the grants' own, not a copy;
 * the email and country are handed to the password grant as a condition on the account (withIdentityCheck).
 */
export function generateTokenApiRoutes(dependencies: GenerateTokenApiDependencies): Router {
  const router = new Router();
  const body = requestBodyParser({ enableTypes: ['form', 'json'], formLimit: `${MAX_BODY_BYTES}b`, jsonLimit: `${MAX_BODY_BYTES}b` });

  router.post(GENERATE_TOKEN_PATH, body, async (ctx) => {
    await answer(ctx, (ctx.request.body ?? {}) as Record<string, unknown>, dependencies);
  });

  // Registered only when allowed: otherwise GET is the app's 405 (src/http/method-not-allowed.ts), whose Allow
  // header comes from this route table, in this API's envelope.
  if (!dependencies.allowGet) return router;
  router.get(GENERATE_TOKEN_PATH, async (ctx) => {
    // Only the path: the query string holds the key. The request log never writes query strings either.
    requestLogger(ctx, dependencies.logger).warn(
      { path: GENERATE_TOKEN_PATH },
      'deprecated: Generate Token API called with GET; the password travels in the URL (COMPAT_TOKEN_GET=true)',
    );
    await answer(ctx, ctx.query as Record<string, unknown>, dependencies);
  });

  return router;
}

async function answer(ctx: Context, input: Record<string, unknown>, dependencies: GenerateTokenApiDependencies): Promise<void> {
  const parsed = parseGenerateTokenRequest(input);
  if (!parsed.ok) {
    respond(ctx, 400, { message: parsed.message });
    return;
  }
  const { request } = parsed;
  const tokenRequest = () => runTokenRequest(ctx, tokenRequestForm(request, dependencies.client), dependencies.provider());
  // The identity is checked inside the password grant, not before it: a mismatch then costs the same argon2
  // work as a wrong password and is counted by the same per-IP limit and sign-in throttle (checked here, it
  // answered in a few milliseconds, uncounted, telling which customer ids exist).
  const result = request.kind === 'password' ? await withIdentityCheck(ctx, identityOf(request), tokenRequest) : await tokenRequest();
  translate(ctx, result, dependencies.logger);
}

/** The email (and the country, when the account has one) must be the customer's; answered like a wrong password. */
function identityOf(request: Extract<GenerateTokenRequest, { kind: 'password' }>): IdentityCheck {
  return (account) => {
    if (account.email.toLowerCase() !== request.email.toLowerCase()) return 'email_mismatch';
    if (account.countryCode !== undefined && account.countryCode.toUpperCase() !== request.country) return 'country_mismatch';
    return undefined;
  };
}

function tokenRequestForm(request: GenerateTokenRequest, client: InternalClientCredentials): Record<string, string> {
  const clientAuth = { client_id: client.clientId, client_secret: client.clientSecret };
  if (request.kind === 'second-factor') {
    return {
      ...clientAuth,
      grant_type: MFA_OTP_GRANT_TYPE,
      mfa_token: request.mfaToken,
      ...(request.otp !== undefined ? { otp: request.otp } : {}),
      ...(request.recoveryCode !== undefined ? { recovery_code: request.recoveryCode } : {}),
    };
  }
  return {
    ...clientAuth,
    grant_type: 'password',
    username: request.customerId,
    password: request.password,
    scope: request.scope,
    ...(request.otp !== undefined ? { otp: request.otp } : {}),
  };
}

/** Maps the token endpoint's RFC 6749 answer onto the product's envelope. */
function translate(ctx: Context, { status, body }: TokenEndpointResult, logger: Logger): void {
  if (status === 200 && typeof body.access_token === 'string') {
    respond(ctx, 200, { token: body.access_token, tokenType: 'Bearer', expiresIn: body.expires_in, scope: body.scope });
    return;
  }
  const error = typeof body.error === 'string' ? body.error : '';
  if (status === 403 && error === 'mfa_required') {
    respond(ctx, 403, {
      message: 'mfa_required',
      mfa_token: body.mfa_token,
      mfa_token_expires_in: body.mfa_token_expires_in,
      mfa_methods: body.mfa_methods,
    });
    return;
  }
  if (status === 429) {
    respond(ctx, 429, { message: 'too many requests; retry later' }); // Retry-After is already set
    return;
  }
  if (error === 'invalid_grant') {
    respond(ctx, 401, { message: BAD_CREDENTIALS });
    return;
  }
  if (status === 400 && typeof body.error_description === 'string') {
    respond(ctx, 400, { message: body.error_description });
    return;
  }
  if (status === 503) {
    respond(ctx, 503, { message: 'temporarily unavailable; retry later' });
    return;
  }
  // invalid_client here means our own client is broken (e.g. its record was removed by hand).
  logger.error({ status, error }, 'Generate Token API: unexpected answer from the token endpoint');
  respond(ctx, 500, { message: 'internal error' });
}
