import Router from '@koa/router';

import { EmailTakenError, isCustomerId, PasswordPolicyError, type Account, type AccountService } from '../../accounts/index.js';
import type { AuditLog } from '../../audit/index.js';
import type { MfaService } from '../../mfa/index.js';
import type { EverythingEnded } from '../../app.js';
import { recordAdminAction } from '../audit-trail.js';
import { AdminApiError, notFound } from '../errors.js';
import { createUserRequest, pageQuery, requireMfaRequest, setRolesRequest } from '../schemas.js';
import { parseBody, parseQuery } from '../validation.js';

interface UserDependencies {
  accounts: AccountService;
  mfa: MfaService;
  audit: AuditLog;
  /** The application's own: every session (sign-in and dashboard) and every token of the account. */
  endEverythingOf(accountId: string): Promise<EverythingEnded>;
}

/**
 * Users: create, list, get, set roles, disable, enable, reset MFA, require MFA enrollment at the next
 * sign-in, revoke tokens and sessions. Operators
 * see which second factors a user has, never a TOTP secret or a recovery code.
 */
export function userRoutes({ accounts, mfa, audit, endEverythingOf }: UserDependencies): Router {
  const router = new Router();

  /** Every session ends and every token goes (JWTs through a "revoked before" time); returns the count. */
  const endEverything = async (customerId: string): Promise<number> => {
    const { sessions, tokens } = await endEverythingOf(customerId);
    return sessions + tokens;
  };

  const userJson = async (account: Account) => ({
    customer_id: account.customerId,
    email: account.email,
    roles: account.roles,
    status: account.status,
    ...(account.countryCode ? { country_code: account.countryCode } : {}),
    mfa_methods: await mfa.methodsFor(account.customerId),
    mfa_enrollment_required: await accounts.requiresMfaEnrollment(account.customerId),
    created_at: account.createdAt.toISOString(),
    updated_at: account.updatedAt.toISOString(),
  });

  const existing = async (customerId: string | undefined): Promise<Account> => {
    const account = customerId && isCustomerId(customerId) ? await accounts.findById(customerId) : undefined;
    if (!account) throw notFound('user');
    return account;
  };

  router.post('/users', async (ctx) => {
    const body = parseBody(ctx, createUserRequest);
    let account: Account;
    try {
      account = await accounts.create({ email: body.email, password: body.password, roles: body.roles, ...(body.country_code ? { countryCode: body.country_code } : {}) });
    } catch (error) {
      if (error instanceof PasswordPolicyError) throw new AdminApiError(400, 'invalid_request', 'the request body is invalid', { password: [error.message] });
      if (error instanceof EmailTakenError) throw new AdminApiError(409, 'conflict', 'an account with this email already exists');
      throw error;
    }
    await recordAdminAction(ctx, audit, { action: 'admin.user.created', accountId: account.customerId, details: { roles: account.roles } });
    ctx.status = 201;
    ctx.body = await userJson(account);
  });

  router.get('/users', async (ctx) => {
    const { limit, offset } = parseQuery(ctx, pageQuery);
    ctx.body = await Promise.all((await accounts.list({ limit, skip: offset })).map(userJson));
  });

  router.get('/users/:customerId', async (ctx) => {
    ctx.body = await userJson(await existing(ctx.params.customerId));
  });

  router.put('/users/:customerId/roles', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    const { roles } = parseBody(ctx, setRolesRequest);
    await accounts.setRoles(account.customerId, roles);
    await recordAdminAction(ctx, audit, { action: 'admin.user.roles_set', accountId: account.customerId, details: { roles } });
    ctx.body = await userJson(await existing(account.customerId));
  });

  router.post('/users/:customerId/disable', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    await accounts.setStatus(account.customerId, 'disabled');
    // A disabled user keeps nothing that still works: stored tokens and sign-in sessions end now.
    const revoked = await endEverything(account.customerId);
    await recordAdminAction(ctx, audit, { action: 'admin.user.disabled', accountId: account.customerId, details: { revoked_records: revoked } });
    ctx.body = await userJson(await existing(account.customerId));
  });

  router.post('/users/:customerId/enable', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    await accounts.setStatus(account.customerId, 'active');
    await recordAdminAction(ctx, audit, { action: 'admin.user.enabled', accountId: account.customerId });
    ctx.body = await userJson(await existing(account.customerId));
  });

  router.post('/users/:customerId/reset-mfa', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    const before = await mfa.methodsFor(account.customerId);
    // Without an authenticator app and without the email factor, the account has no second factor left;
    // enrolling again issues new recovery codes.
    await mfa.removeTotp(account.customerId);
    await mfa.setEmailFactor(account.customerId, false);
    // The recovery codes go too: a reset often follows their loss with the phone, and left stored they would
    // count again the moment a new factor is confirmed, until its own codes replace them.
    await mfa.recoveryCodes.removeAll(account.customerId);
    // Whatever was signed in with the old factors ends with them.
    const revoked = await endEverything(account.customerId);
    await recordAdminAction(ctx, audit, { action: 'admin.user.mfa_reset', accountId: account.customerId, details: { removed: before, revoked_records: revoked } });
    await mfa.notifySecondFactorsReset(account);
    ctx.body = await userJson(account);
  });

  router.post('/users/:customerId/require-mfa', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    const { required } = parseBody(ctx, requireMfaRequest);
    await accounts.requireMfaEnrollment(account.customerId, required);
    await recordAdminAction(ctx, audit, { action: 'admin.user.mfa_required', accountId: account.customerId, details: { required } });
    ctx.body = await userJson(await existing(account.customerId));
  });

  router.post('/users/:customerId/revoke-tokens', async (ctx) => {
    const account = await existing(ctx.params.customerId);
    const revoked = await endEverything(account.customerId);
    await recordAdminAction(ctx, audit, { action: 'admin.user.tokens_revoked', accountId: account.customerId, details: { revoked_records: revoked } });
    ctx.body = { customer_id: account.customerId, revoked_records: revoked, jwt_access_tokens: 'revoked' };
  });

  return router;
}
