import Router from '@koa/router';
import type { Context } from 'koa';
import type { InteractionResults } from 'oidc-provider';

import { requestOrigin, type AuditLog } from '../audit/index.js';
import type { CsrfProtection } from '../http/csrf.js';
import { ACCOUNT_PAGE_LINK } from '../http/error-page.js';
import { formField, requestBodyParser } from '../http/request-body.js';
import type { Logger } from '../log/index.js';
import { isRememberedSession, type Provider } from '../provider/index.js';
import { respondWithErrorPage, type Views } from '../views/index.js';
import {
  ACR_MFA,
  ACR_PASSWORD,
  AMR_PASSWORD_AND_SECOND_FACTOR,
  AMR_PASSWORD_ONLY,
  recoveryCodesFile,
  RECOVERY_CODES_FILE_NAME,
  totpEnrollmentDisplay,
  type MfaMethod,
} from '../mfa/index.js';
import { MFA_STEP_UP_REASON, requestsMfa } from '../provider/step-up-policy.js';
import type { PendingLogins } from './pending-login.js';
import { describeScope } from './scope-descriptions.js';
import type { SignInServices } from './sign-in-services.js';

export interface InteractionDependencies {
  /** The provider serving now (it is rebuilt when signing keys rotate). */
  currentProvider(): Provider;
  views: Views;
  csrf: CsrfProtection;
  pending: PendingLogins;
  signIn: SignInServices;
  audit: AuditLog;
  logger: Logger;
  /** Whether a client insists on a second factor (client metadata). */
  clientRequiresMfa(clientId: string): Promise<boolean>;
  /** The forgot-password page, when email is configured. */
  forgotPasswordUrl?: string;
  /** The sign-up page to link from this client's login page, if any (the dashboard's, when sign-up is on). */
  signUpUrlFor?(clientId: string): string | undefined;
}

type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

const METHOD_LABELS: Record<MfaMethod, string> = {
  totp: 'Use your authenticator app',
  email: 'Get a code by email',
  recovery_code: 'Use a recovery code',
};

const FORM_LIMIT = '16kb';

function maskEmail(email: string | undefined): string | undefined {
  if (!email) return undefined;
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}${'*'.repeat(Math.max(1, Math.min(local.length - 1, 6)))}@${domain}`;
}

class ExpiredInteraction extends Error {}

function isBodyTooLarge(error: unknown): boolean {
  return error instanceof Error && (error as { status?: unknown }).status === 413;
}

/** Why no code was emailed just now, in words; the wait is rounded up to what a person reads. */
function emailRefusalNotice(reason: 'cooldown' | 'hourly_cap', retryAfterSeconds: number): string {
  if (reason === 'cooldown') return `A code was sent moments ago. You can ask for a new one in ${retryAfterSeconds} seconds.`;
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return (
    'Too many codes were emailed to you in the last hour, so we did not send another. ' +
    `Enter the code we sent last, use another method, or ask again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
  );
}

/**
 * The login, second-factor, enrollment and consent pages of the authorization-code flow. The login
 * result reaches oidc-provider only after every required factor, so the provider session never holds
 * an account that has not finished its MFA.
 */
export function interactionRoutes(deps: InteractionDependencies): Router {
  const { views, csrf, pending, signIn, audit } = deps;
  const router = new Router({ prefix: '/interaction' });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
    } catch (error) {
      if (isBodyTooLarge(error)) {
        await respondBodyTooLarge(ctx);
        return;
      }
      const expired = error instanceof ExpiredInteraction || (error instanceof Error && error.name === 'SessionNotFound');
      if (!expired) throw error;
      deps.logger.info({ reason: (error as Error).message }, 'interaction not found or expired');
      respondWithErrorPage(ctx, views, 400, {
        title: 'This sign-in has expired',
        message: 'Go back to the application and start signing in again.',
        code: 'interaction_expired',
        // Nothing tells which application it was (the record, or this browser's cookie for it, is gone), so
        // the way on that is always there is the person's own account page.
        ...ACCOUNT_PAGE_LINK,
      });
    }
  });
  router.use(requestBodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT }));

  /**
   * A form over FORM_LIMIT (text pasted into a field, say) is refused unread, still 413, with a link back to
   * the step the sign-in is at, or to the account page when the sign-in is gone.
   */
  async function respondBodyTooLarge(ctx: Context): Promise<void> {
    // No route matched yet (the body is read first), so the uid of the address is not in ctx.params.
    const live = await deps
      .currentProvider()
      .interactionDetails(ctx.req, ctx.res)
      .then((interaction) => interaction.uid, () => undefined);
    const uid = live !== undefined && ctx.path.startsWith(`${urls(live).self}/`) ? live : undefined;
    respondWithErrorPage(ctx, views, 413, {
      title: 'Something went wrong',
      message: 'The form was too large to send. Go back and try again.',
      code: 'invalid_request',
      ...(uid ? { backUrl: urls(uid).self, backLabel: 'Back to sign-in' } : ACCOUNT_PAGE_LINK),
    });
  }

  const urls = (uid: string) => ({
    self: `/interaction/${uid}`,
    login: `/interaction/${uid}/login`,
    mfa: (method?: MfaMethod) => `/interaction/${uid}/mfa${method ? `?method=${method}` : ''}`,
    sendEmail: `/interaction/${uid}/mfa/email`,
    enroll: `/interaction/${uid}/enroll`,
    recoveryCodes: `/interaction/${uid}/recovery-codes`,
    recoveryCodesDownload: `/interaction/${uid}/recovery-codes.txt`,
    consent: `/interaction/${uid}/consent`,
    abort: `/interaction/${uid}/abort`,
  });

  async function details(ctx: Context): Promise<InteractionDetails> {
    const interaction = await deps.currentProvider().interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) throw new ExpiredInteraction('interaction mismatch');
    return interaction;
  }

  function clientIdOf(interaction: InteractionDetails): string {
    return String(interaction.params.client_id ?? '');
  }

  async function clientName(interaction: InteractionDetails): Promise<string> {
    const client = await deps.currentProvider().Client.find(clientIdOf(interaction));
    return client?.clientName ?? clientIdOf(interaction);
  }

  function requireCsrf(ctx: Context, uid: string): boolean {
    if (csrf.verify(ctx, uid, formField(ctx, 'csrf'))) return true;
    respondWithErrorPage(ctx, views, 403, {
      title: 'Please try again',
      message: 'The form was out of date or did not come from this site. Go back, reload the page and submit it again.',
      code: 'invalid_csrf_token',
      backUrl: urls(uid).self,
    });
    return false;
  }

  async function finish(ctx: Context, result: InteractionResults): Promise<void> {
    const redirectTo = await deps.currentProvider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(redirectTo);
  }

  /**
   * `remember` is the "keep me signed in on this device" choice: false makes oidc-provider's session transient
   * (its cookie ends with the browser, and ttl.Session gives it the shorter lifetime).
   */
  async function finishLogin(
    ctx: Context,
    interaction: InteractionDetails,
    accountId: string,
    method: MfaMethod | undefined,
    remember: boolean,
  ): Promise<void> {
    await pending.finish(interaction.uid);
    await audit.record({
      action: 'signin.success',
      actor: { type: 'user', id: accountId },
      accountId,
      clientId: clientIdOf(interaction),
      outcome: 'success',
      ...requestOrigin(ctx),
      details: { channel: 'login_page', factor: method ?? 'password' },
    });
    await finish(ctx, {
      login: {
        accountId,
        amr: method ? AMR_PASSWORD_AND_SECOND_FACTOR : AMR_PASSWORD_ONLY,
        acr: method ? ACR_MFA : ACR_PASSWORD,
        remember,
      },
    });
  }

  async function mfaWanted(interaction: InteractionDetails, accountId: string): Promise<boolean> {
    return (
      requestsMfa(interaction.params.acr_values) ||
      (await deps.clientRequiresMfa(clientIdOf(interaction))) ||
      (await signIn.mfaRequiredFor(accountId))
    );
  }

  /**
   * Whether the browser's signed-in session of this account is a remembered one (not transient). A step-up
   * without the password keeps that choice; a sign-in with the password shows it as the box's starting state.
   */
  async function sessionRemembered(interaction: InteractionDetails, accountId: string): Promise<boolean> {
    const { session } = interaction;
    if (!session?.uid || session.accountId !== accountId) return false;
    const signedIn = await deps.currentProvider().Session.findByUid(session.uid);
    return signedIn !== undefined && isRememberedSession(signedIn);
  }

  /** After the password (or for a step-up): second factor, enrollment, or done. */
  async function continueAfterPassword(
    ctx: Context,
    interaction: InteractionDetails,
    login: { accountId: string; passwordVerified: boolean; remember: boolean },
  ): Promise<void> {
    const { accountId } = login;
    const methods = await signIn.methodsOf(accountId);
    const expiresAt = new Date((interaction.exp ?? Math.floor(Date.now() / 1000) + 600) * 1000);
    if (methods.length > 0) {
      await pending.start(interaction.uid, { ...login, stage: 'second-factor' }, expiresAt);
      ctx.status = 303;
      ctx.redirect(urls(interaction.uid).mfa());
      return;
    }
    if (await mfaWanted(interaction, accountId)) {
      if (!login.passwordVerified) {
        // Binding a new factor needs the password first (NIST SP 800-63B 6.1.2): a step-up of a password-only
        // session would otherwise let whoever holds the browser add their own authenticator, and then pass
        // every check that asks for "your password or a code from your app" with it.
        renderLogin(ctx, interaction, await clientName(interaction), {
          remember: login.remember,
          notice: 'Enter your password to set up two-step verification.',
        });
        return;
      }
      await pending.start(interaction.uid, { ...login, stage: 'enroll' }, expiresAt);
      ctx.status = 303;
      ctx.redirect(urls(interaction.uid).enroll);
      return;
    }
    await finishLogin(ctx, interaction, accountId, undefined, login.remember);
  }

  /**
   * Spends one unit of this address's sign-in budget; over it, answers 429 with Retry-After and false, and
   * `render` shows the page again with the message (nothing about the account has been looked at).
   */
  async function admitted(ctx: Context, render: (error: string) => Promise<void> | void): Promise<boolean> {
    const decision = await signIn.admitAttempt(ctx.ip);
    if (decision.allowed) return true;
    ctx.status = 429;
    ctx.set('Retry-After', String(decision.retryAfterSeconds));
    await render(`Too many sign-in attempts from your network. Try again in ${decision.retryAfterSeconds} seconds.`);
    return false;
  }

  function renderLogin(
    ctx: Context,
    interaction: InteractionDetails,
    name: string,
    extra: { error?: string; notice?: string; username?: string; remember?: boolean } = {},
  ): void {
    const url = urls(interaction.uid);
    ctx.type = 'html';
    ctx.body = views.render('./login', {
      clientName: name,
      action: url.login,
      abortUrl: url.abort,
      forgotUrl: deps.forgotPasswordUrl,
      signUpUrl: deps.signUpUrlFor?.(clientIdOf(interaction)),
      csrf: csrf.token(ctx, interaction.uid),
      error: extra.error,
      notice: extra.notice,
      username: extra.username,
      remember: extra.remember ?? false,
    });
  }

  router.get('/:uid', async (ctx) => {
    const interaction = await details(ctx);
    const { uid, prompt } = interaction;
    // A form sent again after its step finished (a double click, or Back and submit before the first answer
    // was followed) lands here with the step's result already saved: the sign-in goes on from it, rather than
    // showing the password page of a prompt that is already answered.
    if (interaction.result) {
      ctx.status = 303;
      ctx.redirect(interaction.returnTo);
      return;
    }
    if (prompt.name === 'login') {
      const waiting = await pending.find(uid);
      if (waiting) {
        ctx.redirect(waiting.stage === 'enroll' ? urls(uid).enroll : waiting.stage === 'recovery-codes' ? urls(uid).recoveryCodes : urls(uid).mfa());
        return;
      }
      // Step-up: a signed-in session that only lacks the second factor proves it without the password again.
      const reasons = prompt.reasons ?? [];
      const sessionAccount = interaction.session?.accountId;
      if (sessionAccount && reasons.length > 0 && reasons.every((reason) => reason === MFA_STEP_UP_REASON)) {
        await continueAfterPassword(ctx, interaction, {
          accountId: sessionAccount,
          passwordVerified: false,
          remember: await sessionRemembered(interaction, sessionAccount),
        });
        return;
      }
      // A re-authentication (prompt=login, max_age) of a remembered session shows the box ticked, so what the
      // page shows is what happens: the person unticks it to end the session with the browser from now on.
      const remember = sessionAccount !== undefined && (await sessionRemembered(interaction, sessionAccount));
      renderLogin(ctx, interaction, await clientName(interaction), { remember });
      return;
    }
    if (prompt.name === 'consent') {
      const promptDetails = prompt.details as {
        missingOIDCScope?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const requested = new Set<string>([...(promptDetails.missingOIDCScope ?? []), ...Object.values(promptDetails.missingResourceScopes ?? {}).flat()]);
      // A native app is asked again at every authorization (RFC 8252 8.6) though its grant already holds the
      // scopes: the page then lists what this request asks for, rather than nothing.
      if (requested.size === 0 && prompt.reasons.includes('native_client_prompt')) {
        for (const scope of String(interaction.params.scope ?? '').split(' ').filter(Boolean)) requested.add(scope);
      }
      ctx.type = 'html';
      ctx.body = views.render('./consent', {
        clientName: await clientName(interaction),
        scopes: [...requested].map((name) => ({ name, description: describeScope(name) })),
        action: urls(uid).consent,
        csrf: csrf.token(ctx, uid),
      });
      return;
    }
    throw new ExpiredInteraction(`unsupported prompt ${prompt.name}`);
  });

  // After a form answers with a page (a wrong password, a code emailed) the address bar shows the form's action:
  // opening that address again (Enter there, a restored tab) is a GET, which goes to the step the sign-in is at.
  for (const formAddress of ['/:uid/login', '/:uid/mfa/email', '/:uid/consent']) {
    router.get(formAddress, (ctx) => {
      ctx.status = 303;
      ctx.redirect(urls(encodeURIComponent(ctx.params.uid ?? '')).self);
    });
  }

  router.post('/:uid/login', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    if (interaction.prompt.name !== 'login') throw new ExpiredInteraction('not at login');
    const username = formField(ctx, 'username').trim();
    const password = formField(ctx, 'password');
    // "Keep me signed in on this device": unticked unless the checkbox was ticked on this very form.
    const keepSignedIn = formField(ctx, 'remember') === 'yes';
    const name = await clientName(interaction);
    if (!username || !password) {
      renderLogin(ctx, interaction, name, { username, remember: keepSignedIn, error: 'Enter your email (or customer ID) and your password.' });
      return;
    }
    if (!(await admitted(ctx, (error) => renderLogin(ctx, interaction, name, { username, remember: keepSignedIn, error })))) return;
    const checked = await signIn.verifyPassword(username, password, ctx.ip);
    if (!checked.ok) {
      await audit.record({
        action: 'signin.failure',
        actor: { type: 'user' },
        clientId: clientIdOf(interaction),
        outcome: 'failure',
        ...requestOrigin(ctx),
        details: { channel: 'login_page', factor: 'password' },
      });
      renderLogin(ctx, interaction, name, { username, remember: keepSignedIn, error: 'The email or password is not correct.' });
      return;
    }
    await continueAfterPassword(ctx, interaction, {
      accountId: checked.accountId,
      passwordVerified: true,
      // Each password sign-in decides by the box, as the page says; it comes pre-ticked for a remembered session.
      remember: keepSignedIn,
    });
  });

  async function pendingAt(ctx: Context, interaction: InteractionDetails, stage: 'second-factor' | 'enroll' | 'recovery-codes') {
    const waiting = await pending.find(interaction.uid);
    if (!waiting || waiting.stage !== stage) {
      ctx.status = 303;
      ctx.redirect(urls(interaction.uid).self);
      return undefined;
    }
    return waiting;
  }

  async function renderMfa(
    ctx: Context,
    interaction: InteractionDetails,
    accountId: string,
    requestedMethod: string,
    extra: { error?: string; notice?: string; emailSent?: boolean } = {},
  ): Promise<void> {
    const methods = await signIn.methodsOf(accountId);
    const method = (methods as string[]).includes(requestedMethod) ? (requestedMethod as MfaMethod) : (methods[0] ?? 'totp');
    const url = urls(interaction.uid);
    ctx.type = 'html';
    ctx.body = views.render('./mfa', {
      method,
      action: url.mfa(),
      sendEmailAction: url.sendEmail,
      abortUrl: url.abort,
      csrf: csrf.token(ctx, interaction.uid),
      maskedEmail: maskEmail(await signIn.emailOf(accountId)),
      otherMethods: methods.filter((other) => other !== method).map((other) => ({ url: url.mfa(other), label: METHOD_LABELS[other] })),
      error: extra.error,
      notice: extra.notice,
      emailSent: extra.emailSent ?? false,
    });
  }

  router.get('/:uid/mfa', async (ctx) => {
    const interaction = await details(ctx);
    const waiting = await pendingAt(ctx, interaction, 'second-factor');
    if (!waiting) return;
    await renderMfa(ctx, interaction, waiting.accountId, String(ctx.query.method ?? ''));
  });

  router.post('/:uid/mfa/email', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    const waiting = await pendingAt(ctx, interaction, 'second-factor');
    if (!waiting) return;
    const sent = await signIn.sendEmailCode(waiting.accountId);
    if (!sent.sent && sent.reason === 'unavailable') {
      await renderMfa(ctx, interaction, waiting.accountId, '', { notice: 'A code by email is not available for this sign-in. Use another method.' });
      return;
    }
    // The code form stays: past the cooldown or the hourly cap, the code sent last still works.
    await renderMfa(ctx, interaction, waiting.accountId, 'email', {
      emailSent: true,
      notice: sent.sent ? 'We sent you a code. It is valid for 5 minutes.' : emailRefusalNotice(sent.reason, sent.retryAfterSeconds),
    });
  });

  router.post('/:uid/mfa', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    const waiting = await pendingAt(ctx, interaction, 'second-factor');
    if (!waiting) return;
    const method = formField(ctx, 'method') as MfaMethod;
    const code = formField(ctx, 'code').replace(/\s+/g, '');
    const methods = await signIn.methodsOf(waiting.accountId);
    if (!methods.includes(method) || !code) {
      await renderMfa(ctx, interaction, waiting.accountId, method, { error: 'Enter the code.' });
      return;
    }
    if (!(await admitted(ctx, (error) => renderMfa(ctx, interaction, waiting.accountId, method, { error, emailSent: method === 'email' })))) return;
    const check = await signIn.verifySecondFactor(waiting.accountId, method, code, ctx.ip);
    if (!check.ok) {
      await audit.record({
        action: 'signin.failure',
        actor: { type: 'user', id: waiting.accountId },
        accountId: waiting.accountId,
        clientId: clientIdOf(interaction),
        outcome: 'failure',
        ...requestOrigin(ctx),
        details: { channel: 'login_page', factor: method },
      });
      // The pending sign-in survives a wrong code: the person simply tries again.
      const error = check.supersededEmailCode ? 'A newer code was sent: use the code from the latest email.' : 'That code is not valid. Check it and try again.';
      await renderMfa(ctx, interaction, waiting.accountId, method, { error, emailSent: method === 'email' });
      return;
    }
    await finishLogin(ctx, interaction, waiting.accountId, method, waiting.remember);
  });

  async function renderEnroll(ctx: Context, interaction: InteractionDetails, accountId: string, error?: string): Promise<void> {
    const { secret, otpauthUri } = await signIn.startTotpEnrollment(accountId, interaction.uid);
    const url = urls(interaction.uid);
    ctx.type = 'html';
    ctx.body = views.render('./enroll', {
      ...(await totpEnrollmentDisplay(secret, otpauthUri)),
      action: url.enroll,
      abortUrl: url.abort,
      csrf: csrf.token(ctx, interaction.uid),
      error,
    });
  }

  router.get('/:uid/enroll', async (ctx) => {
    const interaction = await details(ctx);
    const waiting = await pendingAt(ctx, interaction, 'enroll');
    if (!waiting) return;
    await renderEnroll(ctx, interaction, waiting.accountId);
  });

  router.post('/:uid/enroll', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    const waiting = await pendingAt(ctx, interaction, 'enroll');
    if (!waiting) return;
    const code = formField(ctx, 'code').replace(/\s+/g, '');
    if (!(await signIn.confirmTotpEnrollment(waiting.accountId, code, interaction.uid))) {
      await renderEnroll(ctx, interaction, waiting.accountId, 'That code does not match. Scan the new code above and try again.');
      return;
    }
    await audit.record({
      action: 'mfa.enrolled',
      actor: { type: 'user', id: waiting.accountId },
      accountId: waiting.accountId,
      outcome: 'success',
      ...requestOrigin(ctx),
      details: { method: 'totp', channel: 'login_page' },
    });
    await pending.moveTo(interaction.uid, 'recovery-codes', await signIn.generateRecoveryCodes(waiting.accountId));
    ctx.status = 303;
    ctx.redirect(urls(interaction.uid).recoveryCodes);
  });

  router.get('/:uid/recovery-codes', async (ctx) => {
    const interaction = await details(ctx);
    const waiting = await pendingAt(ctx, interaction, 'recovery-codes');
    if (!waiting) return;
    const url = urls(interaction.uid);
    ctx.type = 'html';
    ctx.body = views.render('./recovery-codes', {
      codes: waiting.recoveryCodes ?? [],
      downloadUrl: url.recoveryCodesDownload,
      action: url.recoveryCodes,
      csrf: csrf.token(ctx, interaction.uid),
    });
  });

  router.get('/:uid/recovery-codes.txt', async (ctx) => {
    const interaction = await details(ctx);
    const waiting = await pendingAt(ctx, interaction, 'recovery-codes');
    if (!waiting) return;
    ctx.type = 'text/plain';
    ctx.attachment(RECOVERY_CODES_FILE_NAME);
    ctx.body = recoveryCodesFile(waiting.recoveryCodes ?? []);
  });

  router.post('/:uid/recovery-codes', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    const waiting = await pendingAt(ctx, interaction, 'recovery-codes');
    if (!waiting) return;
    await finishLogin(ctx, interaction, waiting.accountId, 'totp', waiting.remember);
  });

  router.post('/:uid/consent', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    const { prompt, params, session, grantId } = interaction;
    if (prompt.name !== 'consent' || !session?.accountId) throw new ExpiredInteraction('not at consent');
    if (formField(ctx, 'decision') !== 'allow') {
      await finish(ctx, { error: 'access_denied', error_description: 'the user denied the request' });
      return;
    }
    const grant = grantId
      ? await deps.currentProvider().Grant.find(grantId)
      : new (deps.currentProvider().Grant)({ accountId: session.accountId, clientId: String(params.client_id) });
    if (!grant) throw new ExpiredInteraction('grant missing');
    const promptDetails = prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const savedGrantId = await grant.save();
    await audit.record({
      action: 'consent.granted',
      actor: { type: 'user', id: session.accountId },
      accountId: session.accountId,
      clientId: String(params.client_id),
      outcome: 'success',
      ...requestOrigin(ctx),
    });
    await finish(ctx, { consent: { grantId: savedGrantId } });
  });

  // A POST with the form's CSRF token: cancelling ends the sign-in and sends access_denied to the app, which
  // no link or image from another site may do on the person's behalf.
  router.post('/:uid/abort', async (ctx) => {
    const interaction = await details(ctx);
    if (!requireCsrf(ctx, interaction.uid)) return;
    await pending.finish(interaction.uid);
    await finish(ctx, { error: 'access_denied', error_description: 'the user cancelled the sign-in' });
  });

  return router;
}
