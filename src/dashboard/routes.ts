import Router from '@koa/router';

import type { AuditLog } from '../audit/index.js';
import { requestBodyParser } from '../http/request-body.js';
import type { MfaService } from '../mfa/index.js';
import type { ConnectedApps } from './connected-apps.js';
import type { CustomerCredentials } from './credentials.js';
import { provedSecondFactor as provedSecondFactorAmr, type DashboardPages } from './pages.js';
import type { DashboardSessions } from './sessions.js';
import type { SignedInSessions } from './signed-in-sessions.js';
import { DASHBOARD_CALLBACK_PATH, type DashboardSignIn } from './sign-in.js';

export interface DashboardDependencies {
  issuer: string;
  /** Rendering, sign-in state, CSRF and audit, shared with the page modules in `sections`. */
  pages: DashboardPages;
  sessions: DashboardSessions;
  /** Both kinds of session: signing out ends this browser's sign-in session with its dashboard one. */
  signedInSessions: SignedInSessions;
  signIn: DashboardSignIn;
  /** For the overview's count; the credential pages are a section (credential-routes.ts). */
  credentials: CustomerCredentials;
  mfa: MfaService;
  audit: AuditLog;
  connectedApps: ConnectedApps;
  /** Revokes one grant and every token issued under it. */
  revokeGrant(grantId: string): Promise<unknown>;
  /** Pages in their own modules (on DashboardPages), mounted under /dashboard with this router's middleware. */
  sections: Router[];
}

const FORM_LIMIT = '16kb';
/** How many of the account's latest audit events the activity page shows. */
const ACTIVITY_EVENTS = 50;

/**
 * The customer dashboard: sign-in and sign-out, overview with "Getting started", activity, connected apps;
 * the other pages (API credentials, tokens, sessions) are `sections`. Server-rendered, every form CSRF-protected, usable without JavaScript.
 */
export function dashboardRoutes(deps: DashboardDependencies): Router {
  const { pages, sessions, signIn, credentials, audit } = deps;
  const router = new Router({ prefix: '/dashboard' });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(requestBodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT }));

  router.get('/signin', async (ctx) => {
    signIn.begin(ctx, { requireSecondFactor: false });
  });

  router.get(DASHBOARD_CALLBACK_PATH.replace('/dashboard', ''), async (ctx) => {
    if (typeof ctx.query.error === 'string') {
      pages.error(ctx, 400, { title: 'Sign-in was not completed', message: 'You can start again from the dashboard.', code: 'signin_cancelled' });
      return;
    }
    const result = await signIn.complete(ctx);
    if (!result) {
      pages.error(ctx, 400, { title: 'This sign-in has expired', message: 'Start again from the dashboard.', code: 'signin_expired' });
      return;
    }
    const hasSecondFactor = (await deps.mfa.methodsFor(result.accountId)).length > 0;
    const provedSecondFactor = provedSecondFactorAmr(result.amr);
    if (hasSecondFactor && !provedSecondFactor) {
      if (result.steppedUp) {
        pages.error(ctx, 403, { title: 'A second factor is required', message: 'Your account has a second factor: sign in with it to use the dashboard.', code: 'mfa_required' });
        return;
      }
      signIn.begin(ctx, { requireSecondFactor: true });
      return;
    }
    await sessions.start(ctx, result.accountId, result.amr, { persistent: result.keepSignedIn });
    await pages.record(ctx, result.accountId, 'dashboard.signin', { amr: result.amr });
    ctx.status = 303;
    ctx.redirect('/dashboard');
  });

  router.post('/signout', async (ctx) => {
    if (!pages.csrfValid(ctx)) return;
    const session = await sessions.current(ctx);
    await sessions.end(ctx, session);
    const signInSessionEnded = await deps.signedInSessions.endThisBrowsers(ctx);
    if (session) await pages.record(ctx, session.accountId, 'dashboard.signout', { signInSessionEnded });
    pages.render(ctx, './dashboard-signed-out', { signInSessionEnded });
  });

  router.get('/', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    const { account } = state;
    pages.render(ctx, './dashboard', {
      email: account.email,
      customerId: account.customerId,
      mfaMethods: await deps.mfa.methodsFor(account.customerId),
      credentialCount: await credentials.count(account.customerId),
      issuer: deps.issuer,
    });
  });

  router.get('/activity', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    const events = await audit.list({ accountId: state.account.customerId, limit: ACTIVITY_EVENTS });
    pages.render(ctx, './dashboard-activity', {
      events: events.map((event) => {
        // An operator's action (admin API, CLI) on the account is shown as such, without where it came from:
        // the operator's address and tool are the deployment's internals, not the customer's business.
        const byOperator = event.actor.type === 'admin';
        return {
          at: event.at,
          action: event.action,
          outcome: event.outcome,
          clientId: event.clientId,
          byOperator,
          ip: byOperator ? undefined : event.ip,
          userAgent: byOperator ? undefined : event.userAgent,
        };
      }),
    });
  });

  router.get('/apps', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    pages.render(ctx, './dashboard-apps', { apps: await deps.connectedApps.list(state.account.customerId) });
  });

  router.post('/apps/:grantId/revoke', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const grantId = ctx.params.grantId ?? '';
    if (!(await deps.connectedApps.belongsTo(state.account.customerId, grantId))) {
      pages.error(ctx, 404, { title: 'No such app', message: 'Its access may have ended already.', code: 'not_found' });
      return;
    }
    await deps.revokeGrant(grantId);
    await pages.record(ctx, state.account.customerId, 'dashboard.app.revoked', {});
    ctx.status = 303;
    ctx.redirect('/dashboard/apps');
  });

  for (const section of deps.sections) router.use(section.routes());

  return router;
}
