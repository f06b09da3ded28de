import Router from '@koa/router';
import type { Context } from 'koa';

import { checkPasswordPolicy, describePasswordProblem, PasswordPolicyError, type Account, type AccountService } from '../accounts/index.js';
import { requestBodyParser } from '../http/request-body.js';
import { AMR_PASSWORD_AND_SECOND_FACTOR, recoveryCodesFile, RECOVERY_CODES_FILE_NAME, totpEnrollmentDisplay, type MfaService, type RecoveryCodeSet } from '../mfa/index.js';
import type { FreshRecoveryCodes } from './fresh-recovery-codes.js';
import { formField, type DashboardPages, type SignedInCustomer } from './pages.js';
import type { Reauthentication } from './reauthentication.js';
import type { DashboardSessions } from './sessions.js';

export interface SecurityPageDependencies {
  pages: DashboardPages;
  accounts: AccountService;
  mfa: MfaService;
  sessions: DashboardSessions;
  reauthentication: Reauthentication;
  freshRecoveryCodes: FreshRecoveryCodes;
  /** Whether policy makes this account keep a second factor (REQUIRE_MFA, or an operator's requirement). */
  mfaRequiredFor(accountId: string): Promise<boolean>;
  /** Ends every provider and dashboard session of the account and revokes its tokens. */
  endEverythingOf(accountId: string): Promise<unknown>;
  /** Tells the owner about a change to their account; never throws (a lost notice must not undo the change). */
  notify(account: Account, subject: string, text: string): Promise<void>;
}

const PATH = '/dashboard/security';
const FORM_LIMIT = '16kb';

/** Outcomes shown after a redirect; the query names one, so no text from the request is ever echoed. */
const NOTICES = new Map<string, string>([
  ['password', 'Your password is changed. Every other session was signed out and the tokens of your sign-ins were revoked.'],
  ['totp-removed', 'The authenticator app is removed from your account.'],
]);

type SecurityForm = 'enroll' | 'remove' | 'recovery' | 'password';

/**
 * Who an enrollment started here belongs to: the dashboard session that re-authenticated for it. Another
 * session of the account (a stolen cookie) must not read the pending key or confirm it.
 */
function enrollmentStarter({ session }: SignedInCustomer): string {
  return `dashboard:${session.id}`;
}

/**
 * The dashboard's security page: enroll, replace or remove TOTP, regenerate recovery codes, change the
 * password. Factor changes need re-authentication (password or a current code); every change is an audit
 * event and the owner gets an email notice of enrollments, removals, new recovery codes and password changes.
 */
export function securityRoutes(deps: SecurityPageDependencies): Router {
  const { pages, accounts, mfa } = deps;
  const router = new Router({ prefix: PATH });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(requestBodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT }));

  async function renderSecurity(ctx: Context, { account }: SignedInCustomer, errors: Partial<Record<SecurityForm, string>> = {}): Promise<void> {
    const [totpEnrolled, methods, recoveryCodesLeft, mfaRequired] = await Promise.all([
      mfa.totp.isEnrolled(account.customerId),
      mfa.methodsFor(account.customerId),
      mfa.recoveryCodes.remaining(account.customerId),
      deps.mfaRequiredFor(account.customerId),
    ]);
    // A Map, not an object: `done=__proto__` or `constructor` must find nothing, not Object.prototype's members.
    const done = typeof ctx.query.done === 'string' ? ctx.query.done : '';
    pages.render(
      ctx,
      './dashboard-security',
      { username: account.email, totpEnrolled, hasSecondFactor: methods.length > 0, recoveryCodesLeft, mfaRequired, errors, notice: NOTICES.get(done) },
      { status: Object.keys(errors).length > 0 ? 400 : 200 },
    );
  }

  /** The signed-in customer after a valid CSRF token, or an answered request. */
  async function signedInForm(ctx: Context): Promise<SignedInCustomer | undefined> {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return undefined;
    return state;
  }

  /**
   * Re-authentication for a sensitive form; on failure the page is shown again with the error beside it. A
   * success also starts this session's sudo window for the credential pages (Reauthentication.confirm).
   */
  async function reauthenticated(ctx: Context, state: SignedInCustomer, form: SecurityForm, action: string): Promise<string | undefined> {
    const result = await deps.reauthentication.confirm(state, { password: formField(ctx, 'password'), code: formField(ctx, 'code') }, ctx.ip);
    if (result.ok) return result.factor;
    await pages.record(ctx, state.account.customerId, action, { reason: 'reauthentication_failed' }, 'failure');
    await renderSecurity(ctx, state, { [form]: result.error });
    return undefined;
  }

  async function showFreshRecoveryCodes(ctx: Context, state: SignedInCustomer, set: RecoveryCodeSet, enrolled: boolean): Promise<void> {
    await deps.freshRecoveryCodes.keep(state.session.id, set);
    ctx.status = 303;
    ctx.redirect(`${PATH}/recovery-codes${enrolled ? '?enrolled=1' : ''}`);
  }

  router.get('/', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (state) await renderSecurity(ctx, state);
  });

  // Enroll (or replace) TOTP: re-authenticate, then scan and confirm. The current secret, if any, keeps
  // working until the new one is confirmed, so "replace" never leaves the account without its factor.
  router.post('/totp', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    const factor = await reauthenticated(ctx, state, 'enroll', 'mfa.enrollment_started');
    if (!factor) return;
    await mfa.enrollTotp(state.account, enrollmentStarter(state));
    await pages.record(ctx, state.account.customerId, 'mfa.enrollment_started', { method: 'totp', reauthenticated_with: factor });
    ctx.status = 303;
    ctx.redirect(`${PATH}/totp`);
  });

  async function renderEnrollment(ctx: Context, state: SignedInCustomer, error?: string): Promise<void> {
    const pending = await mfa.pendingTotpEnrollment(state.account, enrollmentStarter(state));
    if (!pending) {
      // Never started, already confirmed, or expired: the security page says where things stand.
      ctx.status = 303;
      ctx.redirect(PATH);
      return;
    }
    pages.render(
      ctx,
      './dashboard-totp-enroll',
      { ...(await totpEnrollmentDisplay(pending.secret, pending.uri)), action: `${PATH}/totp/confirm`, error },
      { status: error ? 400 : 200 },
    );
  }

  router.get('/totp', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (state) await renderEnrollment(ctx, state);
  });

  router.post('/totp/confirm', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    const code = formField(ctx, 'code').replace(/\s+/g, '');
    if (!(await mfa.confirmTotp(state.account.customerId, code, enrollmentStarter(state)))) {
      await renderEnrollment(ctx, state, 'That code does not match. Check the time on your phone and enter the code the app shows now.');
      return;
    }
    // Confirming proved the new factor: this session keeps going where the account's others, password-only, end.
    await deps.sessions.withSecondFactor(state.session.id, [...new Set([...state.session.amr, ...AMR_PASSWORD_AND_SECOND_FACTOR])]);
    await pages.record(ctx, state.account.customerId, 'mfa.enrolled', { method: 'totp' });
    await mfa.notifyAuthenticatorAdded(state.account, 'on the dashboard');
    await showFreshRecoveryCodes(ctx, state, await mfa.generateRecoveryCodeSet(state.account.customerId), true);
  });

  router.post('/totp/remove', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    const accountId = state.account.customerId;
    if (!(await mfa.totp.isEnrolled(accountId))) {
      ctx.status = 303;
      ctx.redirect(PATH);
      return;
    }
    const lastFactor = !(await mfa.hasEmailFactor(accountId));
    if (lastFactor && (await deps.mfaRequiredFor(accountId))) {
      await pages.record(ctx, accountId, 'mfa.removed', { method: 'totp', reason: 'second_factor_required' }, 'failure');
      await renderSecurity(ctx, state, {
        remove: 'Your account must keep a second factor, so the authenticator app cannot be removed. To move to a new phone, use “Replace authenticator app”.',
      });
      return;
    }
    const factor = await reauthenticated(ctx, state, 'remove', 'mfa.removed');
    if (!factor) return;
    await mfa.removeTotp(accountId);
    // Without any factor left, recovery codes would be a way in that nothing else backs: they go too.
    if (lastFactor) await mfa.recoveryCodes.removeAll(accountId);
    await pages.record(ctx, accountId, 'mfa.removed', { method: 'totp', reauthenticated_with: factor });
    await deps.notify(
      state.account,
      'The authenticator app was removed from your account',
      'The authenticator app (second factor) was removed from your AuthToken account on the dashboard.\n' +
        'If this was not you, change your password and set up your authenticator app again.\n',
    );
    ctx.status = 303;
    ctx.redirect(`${PATH}?done=totp-removed`);
  });

  router.post('/recovery-codes', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    if ((await mfa.methodsFor(state.account.customerId)).length === 0) {
      await renderSecurity(ctx, state, { enroll: 'Set up an authenticator app first: recovery codes come with it.' });
      return;
    }
    const factor = await reauthenticated(ctx, state, 'recovery', 'mfa.recovery_codes_regenerated');
    if (!factor) return;
    const set = await mfa.generateRecoveryCodeSet(state.account.customerId);
    await pages.record(ctx, state.account.customerId, 'mfa.recovery_codes_regenerated', { reauthenticated_with: factor });
    // New codes are a new way past the second factor (NIST SP 800-63B: the subscriber is notified when an
    // authenticator is bound), so the owner hears of it as of an added authenticator app.
    await deps.notify(
      state.account,
      'New recovery codes were made for your account',
      'New recovery codes were made for your AuthToken account on the dashboard; the previous ones no longer work.\n' +
        'If this was not you, change your password and make new recovery codes at once.\n',
    );
    await showFreshRecoveryCodes(ctx, state, set, false);
  });

  router.get('/recovery-codes', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    const codes = await deps.freshRecoveryCodes.read(state.session.id);
    if (!codes) {
      ctx.status = 303;
      ctx.redirect(PATH);
      return;
    }
    pages.render(ctx, './dashboard-recovery-codes', { codes, downloadUrl: `${PATH}/recovery-codes.txt`, enrolled: ctx.query.enrolled === '1' });
  });

  router.get('/recovery-codes.txt', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    const codes = await deps.freshRecoveryCodes.read(state.session.id);
    if (!codes) {
      pages.error(ctx, 404, { title: 'Nothing to download', message: 'Recovery codes can be downloaded only right after they are made.', code: 'not_found', backUrl: PATH });
      return;
    }
    ctx.type = 'text/plain';
    ctx.attachment(RECOVERY_CODES_FILE_NAME);
    ctx.body = recoveryCodesFile(codes);
  });

  router.post('/recovery-codes/saved', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    await deps.freshRecoveryCodes.forget(state.session.id);
    ctx.status = 303;
    ctx.redirect(PATH);
  });

  router.post('/password', async (ctx) => {
    const state = await signedInForm(ctx);
    if (!state) return;
    const { account, session } = state;
    const current = formField(ctx, 'current_password');
    const chosen = formField(ctx, 'new_password');
    if (!current || !chosen) {
      await renderSecurity(ctx, state, { password: 'Enter your current password and a new one.' });
      return;
    }
    // Throttled like a sign-in (per account and address); a throttled attempt reads like a wrong password.
    const checked = await accounts.verifyPassword(account.customerId, current, ctx.ip);
    if (!checked.ok) {
      await pages.record(ctx, account.customerId, 'password.changed', { reason: 'wrong_current_password' }, 'failure');
      await renderSecurity(ctx, state, { password: 'The current password is not correct.' });
      return;
    }
    const problem = checkPasswordPolicy(chosen);
    if (problem) {
      await renderSecurity(ctx, state, { password: `Choose another password: ${describePasswordProblem(problem)}.` });
      return;
    }
    try {
      await accounts.changePassword(account.customerId, chosen);
    } catch (error) {
      if (!(error instanceof PasswordPolicyError)) throw error;
      await renderSecurity(ctx, state, { password: `Choose another password: ${describePasswordProblem(error.problem)}.` });
      return;
    }
    // Whoever knew the old password may hold sessions or tokens: all of them end. This browser gets a new
    // dashboard session (a fresh cookie value), so the person stays signed in here and only here.
    await deps.endEverythingOf(account.customerId);
    await deps.sessions.start(ctx, account.customerId, session.amr, { persistent: session.persistent });
    await pages.record(ctx, account.customerId, 'password.changed', { other_sessions_ended: true, tokens_revoked: true });
    await deps.notify(
      account,
      'Your password was changed',
      'The password of your AuthToken account was changed on the dashboard. Every other session was signed out.\n' +
        'If this was not you, reset your password at once with "Forgot your password?" on the sign-in page.\n',
    );
    ctx.status = 303;
    ctx.redirect(`${PATH}?done=password`);
  });

  return router;
}
