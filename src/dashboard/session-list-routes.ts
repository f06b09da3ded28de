import Router from '@koa/router';

import type { DashboardPageKit, DashboardSection } from './page-kit.js';
import type { SignedInSessions } from './signed-in-sessions.js';

/**
 * "Signed-in sessions": the account's sign-in sessions (login pages) and dashboard sessions, with device, IP,
 * sign-in time and last activity; each can be signed out, or all but this browser's at once.
 */
export function sessionListRoutes(sessions: SignedInSessions): DashboardSection {
  return (kit: DashboardPageKit) => {
    const router = new Router();

    router.get('/sessions', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state) return;
      kit.page(ctx, './dashboard-sessions', { sessions: await sessions.list(ctx, state.account.customerId, state.session.id) });
    });

    router.post('/sessions/end', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state || !kit.csrfValid(ctx)) return;
      const ended = await sessions.end(state.account.customerId, kit.formField(ctx, 'kind'), kit.formField(ctx, 'session'), state.session.id);
      if (!ended.ended) {
        kit.errorPage(ctx, 404, 'No such session', 'It may have ended already.', 'not_found');
        return;
      }
      await kit.record(ctx, state.account.customerId, 'dashboard.session.ended', { kind: ended.kind });
      if (ended.ownDashboardSession) {
        // Like the Sign out button: this browser is out of the dashboard (its cookie now names no session).
        kit.page(ctx, './dashboard-signed-out', {});
        return;
      }
      ctx.status = 303;
      ctx.redirect('/dashboard/sessions');
    });

    router.post('/sessions/end-others', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state || !kit.csrfValid(ctx)) return;
      const ended = await sessions.endOthers(ctx, state.account.customerId, state.session.id);
      await kit.record(ctx, state.account.customerId, 'dashboard.session.others_ended', {
        signInSessions: String(ended.signInSessions),
        dashboardSessions: String(ended.dashboardSessions),
      });
      ctx.status = 303;
      ctx.redirect('/dashboard/sessions');
    });

    return router;
  };
}
