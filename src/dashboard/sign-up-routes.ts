import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';

import { checkPasswordPolicy, describePasswordProblem, PasswordPolicyError } from '../accounts/index.js';
import { requestOrigin } from '../audit/index.js';
import type { AfterAnswerWork } from '../http/after-answer-work.js';
import type { FixedWindowRateLimiter } from '../http/rate-limit.js';
import { requestBodyParser } from '../http/request-body.js';
import { formField, type DashboardPages } from './pages.js';
import type { SelfServiceSignUp } from './sign-up.js';

export interface SignUpRoutesDependencies {
  pages: DashboardPages;
  signUp: SelfServiceSignUp;
  /** DASHBOARD_SIGNUP: off, every sign-up page answers 404. */
  enabled: boolean;
  rateLimiter: FixedWindowRateLimiter;
  /** Per client IP: confirmation attempts, each of which may cost a password-hash check. */
  confirmationRateLimiter: FixedWindowRateLimiter;
  linkTtlSeconds: number;
  /** A sign-up that failed after its answer went out. */
  onSignUpFailure(error: unknown): void;
  /** Where the work after the answer is tracked, so a shutdown lets it finish. */
  afterAnswer: AfterAnswerWork;
}

const CSRF_PURPOSE = 'dashboard-signup';
const FORM_LIMIT = '16kb';
/** RFC 5321's limit on a forward path, which is what an address must fit in to receive our link. */
const EMAIL_MAX_LENGTH = 254;
const emailAddress = z.email().max(EMAIL_MAX_LENGTH);

const WRONG_SIGN_UP_PASSWORD =
  'This is not the password chosen in the sign-up this email was sent for. If you signed up more than once, ' +
  'each email works only with the password of its own sign-up. If you did not sign up twice, someone else may have ' +
  'used your address: confirm with the email of your own sign-up, or sign up again.';

interface SignUpForm {
  email?: string;
  errors: { email?: string; password?: string; form?: string };
}

/** /dashboard/signup and /dashboard/verify-email (see SelfServiceSignUp for the rules). */
export function signUpRoutes(deps: SignUpRoutesDependencies): Router {
  const { pages, signUp } = deps;
  const router = new Router({ prefix: '/dashboard' });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    if (!deps.enabled) {
      pages.error(ctx, 404, { title: 'Page not found', message: 'Accounts are created by the operator of this service.', code: 'not_found' });
      return;
    }
    await next();
  });
  router.use(requestBodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT }));

  const render = (ctx: Context, template: string, data: Record<string, unknown>, status = 200) =>
    pages.render(ctx, template, data, { status, csrfPurpose: CSRF_PURPOSE });

  /** The confirmation form; `email` is the address the link was mailed to, never one the link does not lead to. */
  const renderConfirmation = (ctx: Context, token: string, email: string | undefined, error?: string, status = 200) =>
    render(ctx, './verify-email', { token, username: email, error }, status);

  const renderForm = (ctx: Context, form: SignUpForm, status = 200) => render(ctx, './sign-up', { email: form.email, errors: form.errors }, status);

  const DEAD_LINK_REASONS = {
    expired_or_used: 'Confirmation links work once and for a limited time.',
    closed: 'Too many wrong passwords were entered with this link, so it was closed.',
  };
  const deadLink = (ctx: Context, reason: keyof typeof DEAD_LINK_REASONS = 'expired_or_used') =>
    pages.error(ctx, 400, {
      title: 'This link does not work any more',
      message: `${DEAD_LINK_REASONS[reason]} Sign up again to get a new one.`,
      code: 'invalid_verification_link',
      backUrl: '/dashboard/signup',
    });

  router.get('/signup', (ctx) => renderForm(ctx, { errors: {} }));

  router.post('/signup', async (ctx) => {
    if (!pages.csrfValid(ctx, CSRF_PURPOSE)) return;
    const email = formField(ctx, 'email').trim();
    const password = formField(ctx, 'password');
    if (!emailAddress.safeParse(email).success) {
      renderForm(ctx, { email, errors: { email: 'Enter a valid email address.' } }, 400);
      return;
    }
    if (!password) {
      renderForm(ctx, { email, errors: { password: 'Choose a password.' } }, 400);
      return;
    }
    // Checked before the rate limit too, so a person correcting a too-short password does not spend the budget.
    const problem = checkPasswordPolicy(password);
    if (problem) {
      renderForm(ctx, { email, errors: { password: `Choose another password: ${describePasswordProblem(problem)}.` } }, 400);
      return;
    }
    const limit = await deps.rateLimiter.consume(ctx.ip);
    if (!limit.allowed) {
      ctx.set('Retry-After', String(limit.retryAfterSeconds));
      renderForm(ctx, { email, errors: { form: `Too many sign-ups from your network. Try again in ${limit.retryAfterSeconds} seconds.` } }, 429);
      return;
    }
    let passwordHash;
    try {
      passwordHash = await signUp.hashPassword(password);
    } catch (error) {
      if (!(error instanceof PasswordPolicyError)) throw error;
      renderForm(ctx, { email, errors: { password: `Choose another password: ${describePasswordProblem(error.problem)}.` } }, 400);
      return;
    }
    // Not awaited: what differs between an address with an account and one without (records, which email,
    // whether the address's budget lets one go) happens after the answer, so its timing tells nothing.
    // The origin is taken now: the request (and the password in its body) is not kept for the work after.
    const origin = requestOrigin(ctx);
    deps.afterAnswer.track(
      signUp
        .register(email, passwordHash)
        .then((outcome) =>
          pages.record(origin, outcome.account.customerId, outcome.kind === 'already_registered' ? 'account.signup_existing_email' : 'account.signed_up', {
            emailed: outcome.emailed,
          }),
        ),
      deps.onSignUpFailure,
    );
    // The same answer whether or not the address already had an account.
    render(ctx, './sign-up-sent', { email, hours: Math.max(1, Math.round(deps.linkTtlSeconds / 3600)) });
  });

  // The link shows a confirmation button instead of activating on GET: mail scanners open links too,
  // and a GET must not spend it.
  router.get('/verify-email', async (ctx) => {
    const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
    const email = await signUp.pendingAddress(token);
    if (email === undefined) {
      deadLink(ctx);
      return;
    }
    renderConfirmation(ctx, token, email);
  });

  router.post('/verify-email', async (ctx) => {
    if (!pages.csrfValid(ctx, CSRF_PURPOSE)) return;
    const token = formField(ctx, 'token');
    const password = formField(ctx, 'password');
    if (!password) {
      const email = await signUp.pendingAddress(token);
      if (email === undefined) deadLink(ctx);
      else renderConfirmation(ctx, token, email, 'Enter the password you chose when you signed up.', 400);
      return;
    }
    const limit = await deps.confirmationRateLimiter.consume(ctx.ip);
    if (!limit.allowed) {
      ctx.set('Retry-After', String(limit.retryAfterSeconds));
      renderConfirmation(ctx, token, await signUp.pendingAddress(token), `Too many attempts from your network. Try again in ${limit.retryAfterSeconds} seconds.`, 429);
      return;
    }
    const outcome = await signUp.verify(token, password);
    if (!outcome.ok && outcome.reason === 'too_many_wrong_passwords') {
      deadLink(ctx, 'closed');
      return;
    }
    if (!outcome.ok && outcome.reason === 'wrong_password') {
      // The link stays live: its own sign-up's password still confirms it.
      renderConfirmation(ctx, token, await signUp.pendingAddress(token), WRONG_SIGN_UP_PASSWORD, 400);
      return;
    }
    if (!outcome.ok) {
      deadLink(ctx);
      return;
    }
    await pages.record(ctx, outcome.accountId, 'account.email_verified', {});
    render(ctx, './email-verified', {});
  });

  return router;
}
