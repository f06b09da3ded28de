import Router from '@koa/router';
import type { Context } from 'koa';

import { describePasswordProblem, EmailedLinks, PasswordPolicyError, type Account, type AccountService } from '../accounts/index.js';
import { requestOrigin, type AuditLog } from '../audit/index.js';
import type { AfterAnswerWork } from '../http/after-answer-work.js';
import type { CsrfProtection } from '../http/csrf.js';
import type { FixedWindowRateLimiter } from '../http/rate-limit.js';
import { formField, requestBodyParser } from '../http/request-body.js';
import type { DeliveryChannel } from '../mfa/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { respondWithErrorPage, type Views } from '../views/index.js';

export const PASSWORD_RESETS_COLLECTION = 'password_resets';

export interface PasswordResetDependencies {
  store: Store;
  secrets: ServerSecrets;
  accounts: AccountService;
  channel: DeliveryChannel;
  views: Views;
  csrf: CsrfProtection;
  audit: AuditLog;
  rateLimiter: FixedWindowRateLimiter;
  /**
   * Reset links mailed to one account per window (the link's lifetime), keyed by account: per mailbox, a
   * stranger could spend it through another account in the same mailbox (`owner+work@`) and leave this one
   * without a working link.
   */
  mailBudget: FixedWindowRateLimiter;
  /** Where the work after the answer is tracked, so a shutdown lets it finish. */
  afterAnswer: AfterAnswerWork;
  issuer: string;
  /** How long an emailed link works. */
  linkTtlSeconds: number;
  /** Ends the account's sign-in sessions and revokes its tokens, opaque and JWT. */
  endEverythingOf(accountId: string): Promise<unknown>;
  /** Emailed codes stop counting as the account's second factor (MfaService.distrustMailboxFactor). */
  distrustMailboxFactor(accountId: string): Promise<void>;
  /** Told when a reset link could not be issued or delivered (after the answer went out; see /forgot). */
  onSendFailure(error: unknown): void;
  /** A reset link not mailed to the account because its budget was spent. */
  onMailSkipped(accountId: string): void;
}

const CSRF_PURPOSE = 'password-reset';

/**
 * "Forgot password": an emailed single-use link, valid for a short time, stored only as a keyed hash. The
 * answer never says whether an address has an account. A reset ends every session of the account and
 * revokes its tokens, because whoever knew the old password may hold them.
 */
export function passwordResetRoutes(deps: PasswordResetDependencies): Router {
  const { store, secrets, accounts, views, csrf, audit } = deps;
  const resets = new EmailedLinks(store, secrets, { collection: PASSWORD_RESETS_COLLECTION, purpose: 'password-reset', ttlSeconds: deps.linkTtlSeconds });
  const router = new Router({ prefix: '/account' });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(requestBodyParser({ enableTypes: ['form'], formLimit: '16kb' }));

  const renderForgot = (ctx: Context, extra: { sent?: boolean; error?: string } = {}) => {
    ctx.type = 'html';
    ctx.body = views.render('./forgot-password', {
      csrf: csrf.token(ctx, CSRF_PURPOSE),
      sent: extra.sent ?? false,
      error: extra.error,
      minutes: Math.round(deps.linkTtlSeconds / 60),
    });
  };

  /** `accountId`: the link's account, whose email the form names for password managers (never one the link does not lead to). */
  const renderReset = async (ctx: Context, token: string, accountId: string | undefined, error?: string) => {
    const username = accountId === undefined ? undefined : (await accounts.findById(accountId))?.email;
    ctx.type = 'html';
    ctx.body = views.render('./reset-password', { csrf: csrf.token(ctx, CSRF_PURPOSE), token, username, error });
  };

  const renderInvalidLink = (ctx: Context) =>
    respondWithErrorPage(ctx, views, 400, {
      title: 'This link does not work any more',
      message: 'Password reset links work once and for a limited time. Ask for a new one.',
      code: 'invalid_reset_link',
      backUrl: '/account/forgot',
    });

  /**
   * Mails an active account a link, within the account's budget. Only a request that would mail spends it, so
   * a stranger cannot spend it without each try putting a working link in the owner's mailbox; and since the
   * budget's window is the link's lifetime, the last link mailed works until a new one may be sent. (Nobody
   * learns what was spent: all of this happens after the answer.) Past the budget nothing is sent and the live
   * link keeps working.
   */
  async function answerForgotPassword(account: Account | undefined, origin: ReturnType<typeof requestOrigin>): Promise<void> {
    if (account?.status !== 'active') return;
    if (!(await deps.mailBudget.consume(account.customerId)).allowed) {
      deps.onMailSkipped(account.customerId);
      return;
    }
    await sendResetLink(account, origin);
  }

  async function sendResetLink(account: Account, origin: ReturnType<typeof requestOrigin>): Promise<void> {
    // One live link per account: a new request replaces the previous link.
    const token = await resets.issue(account.customerId);
    const minutes = Math.round(deps.linkTtlSeconds / 60);
    await deps.channel.deliver({
      accountId: account.customerId,
      email: account.email,
      purpose: 'security-notice',
      subject: 'Reset your password',
      text:
        `Someone (hopefully you) asked to reset the password of your account.\n\n` +
        `Open this link within ${minutes} minutes to choose a new password (it works once):\n` +
        `${deps.issuer}/account/reset?token=${token}\n\n` +
        `If it was not you, ignore this message: your password stays as it is.\n`,
    });
    await audit.record({
      action: 'password.reset_requested',
      actor: { type: 'user', id: account.customerId },
      accountId: account.customerId,
      outcome: 'success',
      ...origin,
    });
  }

  router.get('/forgot', (ctx) => renderForgot(ctx));

  router.post('/forgot', async (ctx) => {
    if (!csrf.verify(ctx, CSRF_PURPOSE, formField(ctx, 'csrf'))) {
      renderForgot(ctx, { error: 'The form was out of date. Please submit it again.' });
      ctx.status = 403;
      return;
    }
    const email = formField(ctx, 'email').trim();
    if (!email || email.length > 320) {
      renderForgot(ctx, { error: 'Enter the email address of your account.' });
      ctx.status = 400;
      return;
    }
    const limit = await deps.rateLimiter.consume(ctx.ip);
    if (!limit.allowed) {
      ctx.status = 429;
      ctx.set('Retry-After', String(limit.retryAfterSeconds));
      renderForgot(ctx, { error: `Too many requests from your network. Try again in ${limit.retryAfterSeconds} seconds.` });
      return;
    }
    const account = await accounts.findByEmail(email);
    // Not awaited: issuing, mailing and auditing take time only when the address has an account, and the
    // answer must come as fast either way, or its timing would tell which addresses have one.
    deps.afterAnswer.track(answerForgotPassword(account, requestOrigin(ctx)), deps.onSendFailure);
    // The same answer whether or not the address has an account.
    renderForgot(ctx, { sent: true });
  });

  router.get('/reset', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const link = await resets.find(token);
    if (!link) {
      renderInvalidLink(ctx);
      return;
    }
    await renderReset(ctx, token, link.accountId);
  });

  router.post('/reset', async (ctx) => {
    const token = formField(ctx, 'token');
    if (!csrf.verify(ctx, CSRF_PURPOSE, formField(ctx, 'csrf'))) {
      ctx.status = 403;
      await renderReset(ctx, token, (await resets.find(token))?.accountId, 'The form was out of date. Please submit it again.');
      return;
    }
    // Single use: of two concurrent submissions, one claims the link.
    const accountId = await resets.claim(token);
    if (!accountId) {
      renderInvalidLink(ctx);
      return;
    }
    const password = formField(ctx, 'password');
    try {
      await accounts.changePassword(accountId, password);
    } catch (error) {
      if (!(error instanceof PasswordPolicyError)) throw error;
      // Not used after all: give the link back so the person can pick a better password.
      await resets.release(token);
      await renderReset(ctx, token, accountId, `Choose another password: ${describePasswordProblem(error.problem)}.`);
      ctx.status = 400;
      return;
    }
    await resets.end(token);
    await deps.endEverythingOf(accountId);
    // The link proved only the mailbox; it must not also be the second factor of the next sign-in.
    await deps.distrustMailboxFactor(accountId);
    await audit.record({
      action: 'password.reset',
      actor: { type: 'user', id: accountId },
      accountId,
      outcome: 'success',
      ...requestOrigin(ctx),
      details: { sessions_ended: true, tokens_revoked: true },
    });
    ctx.type = 'html';
    ctx.body = views.render('./password-changed', {});
  });

  return router;
}
