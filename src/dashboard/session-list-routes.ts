import Router from '@koa/router';

import { formField, type DashboardPages } from './pages.js';
import type { SignedInSessions } from './signed-in-sessions.js';

/**
 * "Signed-in sessions": the account's sign-in sessions (login pages) and dashboard sessions, with device, IP,
 * sign-in time and last activity; each can be signed out, or all but this browser's at once (signing a sign-in
 * session out revokes the grants it gave apps, see signed-in-sessions.ts). Mounted inside
 * the dashboard router (routes.ts), whose no-store and form-parsing middleware it runs behind.
 */
export function sessionListRoutes(pages: DashboardPages, sessions: SignedInSessions): Router {
  const router = new Router();

  router.get('/sessions', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    pages.render(ctx, './dashboard-sessions', { sessions: await sessions.list(ctx, state.account.customerId, state.session.id) });
  });

  router.post('/sessions/end', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const ended = await sessions.end(state.account.customerId, formField(ctx, 'kind'), formField(ctx, 'session'), state.session.id);
    if (!ended.ended) {
      pages.error(ctx, 404, { title: 'No such session', message: 'It may have ended already.', code: 'not_found' });
      return;
    }
    const details: Record<string, string> = { kind: ended.kind };
    if (ended.kind === 'sign-in') details.grantsRevoked = String(ended.grantsRevoked);
    await pages.record(ctx, state.account.customerId, 'dashboard.session.ended', details);
    if (ended.ownDashboardSession) {
      // Like the Sign out button: this browser is out of the dashboard (its cookie now names no session).
      pages.render(ctx, './dashboard-signed-out', {});
      return;
    }
    ctx.status = 303;
    ctx.redirect('/dashboard/sessions');
  });

  router.post('/sessions/end-others', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const ended = await sessions.endOthers(ctx, state.account.customerId, state.session.id);
    await pages.record(ctx, state.account.customerId, 'dashboard.session.others_ended', {
      signInSessions: String(ended.signInSessions),
      dashboardSessions: String(ended.dashboardSessions),
      grantsRevoked: String(ended.grantsRevoked),
    });
    ctx.status = 303;
    ctx.redirect('/dashboard/sessions');
  });

  return router;
}
