import { errors, type Client, type KoaContextWithOIDC } from 'oidc-provider';

import type { AccountService } from '../../accounts/index.js';
import { requestOrigin, type AuditEventInput, type AuditLog } from '../../audit/index.js';
import type { FixedWindowRateLimiter } from '../../http/rate-limit.js';
import type { Metrics } from '../../http/metrics.js';
import type { MfaService } from '../../mfa/index.js';
import type { ResourceServerRegistry } from '../resource-servers.js';

/** Client metadata (registered as extraClientMetadata) that turns the password grant on for one client. */
export const PASSWORD_GRANT_METADATA = 'password_grant_allowed';
/** Client metadata: tokens for this client need a second factor even when the user has none enrolled. */
export const MFA_REQUIRED_METADATA = 'mfa_required';

export const MFA_OTP_GRANT_TYPE = 'urn:authtoken:params:oauth:grant-type:mfa-otp';
export const AUTH0_MFA_OTP_GRANT_TYPE = 'http://auth0.com/oauth/grant-type/mfa-otp';
/** The grants whose permission we check ourselves, to answer unauthorized_client (see assertUserGrantAllowed). */
export const USER_GRANT_TYPES = new Set(['password', MFA_OTP_GRANT_TYPE, AUTH0_MFA_OTP_GRANT_TYPE]);

export interface UserGrantDependencies {
  accounts: AccountService;
  mfa: MfaService;
  audit: AuditLog;
  metrics: Metrics;
  resourceServers: ResourceServerRegistry;
  /** Per client IP, shared by the password and mfa-otp grants. */
  rateLimiter: FixedWindowRateLimiter;
  /** Per client IP, for POST /mfa/challenge. */
  rateLimiterForChallenge: FixedWindowRateLimiter;
  /** SCOPE_ROLE_REQUIREMENTS: scope or `prefix*` -> the role a subject needs to be issued it. */
  scopeRoleRequirements: Record<string, string>;
  /** Whether an account must have a second factor (REQUIRE_MFA, or an operator's require-mfa on it). */
  secondFactorRequired(customerId: string): Promise<boolean>;
}

/**
 * RFC 9700 discourages the password grant: it is off unless the client's metadata turns it on, and never
 * for a public client. RFC 6749 5.2 names the error for a client not allowed a grant: unauthorized_client.
 */
export function assertUserGrantAllowed(ctx: KoaContextWithOIDC): void {
  if (!isUserGrantAllowed(ctx.oidc.client)) {
    throw new errors.UnauthorizedClient('the client is not allowed to use this grant type');
  }
}

/** Whether this client may use the password and mfa-otp grants (and /mfa/challenge). */
export function isUserGrantAllowed(client: Client | undefined): boolean {
  return client?.metadata()[PASSWORD_GRANT_METADATA] === true && client.clientAuthMethod !== 'none';
}

/** Writes 429 with Retry-After when the caller's IP spent its budget; true when the request may go on. */
export async function passesRateLimit(ctx: KoaContextWithOIDC, dependencies: UserGrantDependencies): Promise<boolean> {
  const decision = await dependencies.rateLimiter.consume(ctx.ip);
  if (decision.allowed) return true;
  dependencies.metrics.lockouts.inc({ kind: 'rate_limit' });
  ctx.status = 429;
  ctx.set('Retry-After', String(decision.retryAfterSeconds));
  ctx.body = { error: 'slow_down', error_description: 'too many requests from this address; retry later' };
  return false;
}

/** A required parameter, or invalid_request naming it. */
export function requiredParameter(ctx: KoaContextWithOIDC, name: string): string {
  const value = (ctx.oidc.params as Record<string, unknown>)[name];
  if (typeof value !== 'string' || value.length === 0) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  return value;
}

export function optionalParameter(ctx: KoaContextWithOIDC, name: string): string | undefined {
  const value = (ctx.oidc.params as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Records a sign-in event with the request's client, IP and user agent (never the secret presented). */
export async function recordSignIn(
  ctx: KoaContextWithOIDC,
  dependencies: UserGrantDependencies,
  event: Omit<AuditEventInput, 'ip' | 'userAgent' | 'clientId' | 'actor'> & { accountId?: string },
): Promise<void> {
  await dependencies.audit.record({
    ...event,
    actor: event.accountId ? { type: 'user', id: event.accountId } : { type: 'client', id: ctx.oidc.client?.clientId ?? 'unknown' },
    clientId: ctx.oidc.client?.clientId ?? 'unknown',
    ...requestOrigin(ctx),
  });
}

/** The one answer for unknown user, wrong password, throttled attempt and wrong code. */
export function invalidCredentials(): errors.InvalidGrant {
  return new errors.InvalidGrant('invalid credentials');
}
