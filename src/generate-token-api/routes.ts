import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { AccountService } from '../accounts/index.js';
import { requestOrigin, type AuditLog } from '../audit/index.js';
import { MAX_BODY_BYTES } from '../http/errors.js';
import { requestBodyParser } from '../http/request-body.js';
import { requestLogger } from '../http/request-log.js';
import type { Logger } from '../log/index.js';
import { MFA_OTP_GRANT_TYPE, runTokenRequest, type TokenEndpointResult } from '../provider/index.js';
import type { InternalClientCredentials } from '../clients/index.js';
import { parseGenerateTokenRequest, type GenerateTokenRequest } from './parameters.js';

export const GENERATE_TOKEN_PATH = '/auth/v1/authentication/token';

export interface GenerateTokenApiDependencies {
  /** Serves oidc-provider's endpoints (the provider mounted in the app); the token request is handed to it. */
  provider: () => Middleware;
  client: InternalClientCredentials;
  accounts: AccountService;
  audit: AuditLog;
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
 * per-IP rate limits, the second factor, audit, metrics and token issuance are the grants' own, not a copy.
 */
export function generateTokenApiRoutes(dependencies: GenerateTokenApiDependencies): Router {
  const router = new Router();
  const body = requestBodyParser({ enableTypes: ['form', 'json'], formLimit: `${MAX_BODY_BYTES}b`, jsonLimit: `${MAX_BODY_BYTES}b` });

  router.post(GENERATE_TOKEN_PATH, body, async (ctx) => {
    await answer(ctx, (ctx.request.body ?? {}) as Record<string, unknown>, dependencies);
  });

  router.get(GENERATE_TOKEN_PATH, async (ctx) => {
    if (!dependencies.allowGet) {
      ctx.set('Allow', 'POST');
      respond(ctx, 405, { message: 'use POST: a password in a URL ends up in logs (COMPAT_TOKEN_GET turns GET on)' });
      return;
    }
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
  if (request.kind === 'password' && !(await identityMatches(ctx, request, dependencies))) {
    respond(ctx, 401, { message: BAD_CREDENTIALS });
    return;
  }
  const result = await runTokenRequest(ctx, tokenRequestForm(request, dependencies.client), dependencies.provider());
  translate(ctx, result, dependencies.logger);
}

/**
 * The email (and the country, when the account has one) must be the customer's. Answered exactly like a wrong
 * password, so a caller learns nothing about which part was wrong.
 */
async function identityMatches(
  ctx: Context,
  request: Extract<GenerateTokenRequest, { kind: 'password' }>,
  { accounts, audit }: GenerateTokenApiDependencies,
): Promise<boolean> {
  const account = await accounts.findById(request.customerId);
  if (!account) return true; // the password grant answers for an unknown customer, with its own throttling
  const emailMatches = account.email.toLowerCase() === request.email.toLowerCase();
  const countryMatches = account.countryCode === undefined || account.countryCode.toUpperCase() === request.country;
  if (emailMatches && countryMatches) return true;
  await audit.record({
    action: 'signin.failure',
    outcome: 'failure',
    actor: { type: 'user', id: account.customerId },
    accountId: account.customerId,
    clientId: 'authtoken-compat',
    ...requestOrigin(ctx),
    details: { factor: 'identity', reason: emailMatches ? 'country_mismatch' : 'email_mismatch', grant: 'generate-token-api' },
  });
  return false;
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
  ctx.remove('Pragma');
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
