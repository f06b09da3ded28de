import Router from '@koa/router';

import type { ActiveTokens } from './active-tokens.js';
import type { CustomerCredentials } from './credentials.js';
import { formField, type DashboardPages } from './pages.js';

export interface TokenListDependencies {
  pages: DashboardPages;
  activeTokens: ActiveTokens;
  credentials: CustomerCredentials;
  /** Revokes every token a client obtained, JWTs included ("revoked before" entry). */
  revokeClientTokens(clientId: string): Promise<unknown>;
}

/**
 * "Active tokens": the account's stored tokens and its credentials', each revocable, and per credential a
 * "revoke all its tokens" that also reaches its JWT access tokens (which are never stored, so never listed).
 * Token references travel in the form body, not the URL, so they stay out of request logs. Mounted inside
 * the dashboard router (routes.ts), whose no-store and form-parsing middleware it runs behind.
 */
export function tokenListRoutes(deps: TokenListDependencies): Router {
  const { pages } = deps;
  const router = new Router();

  router.get('/tokens', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state) return;
    const accountId = state.account.customerId;
    const credentials = await deps.credentials.list(accountId);
    const { tokens, truncated } = await deps.activeTokens.list(accountId, credentials.map((credential) => credential.clientId));
    pages.render(ctx, './dashboard-tokens', { tokens, truncated, credentials });
  });

  router.post('/tokens/revoke', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const accountId = state.account.customerId;
    const credentials = await deps.credentials.list(accountId);
    const revoked = await deps.activeTokens.revoke(
      accountId,
      credentials.map((credential) => credential.clientId),
      formField(ctx, 'kind'),
      formField(ctx, 'token'),
    );
    if (!revoked.revoked) {
      pages.error(ctx, 404, { title: 'No such token', message: 'It may have expired or been revoked already.', code: 'not_found' });
      return;
    }
    const kind = revoked.model === 'RefreshToken' ? 'refresh' : 'access';
    await pages.record(ctx, accountId, 'dashboard.token.revoked', { kind, grantRevoked: revoked.grantRevoked }, 'success', revoked.clientId);
    ctx.status = 303;
    ctx.redirect('/dashboard/tokens');
  });

  router.post('/tokens/credentials/:clientId/revoke-all', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const clientId = ctx.params.clientId ?? '';
    if (!(await deps.credentials.owns(state.account.customerId, clientId))) {
      pages.error(ctx, 404, { title: 'No such credential', message: 'It may have been deleted already.', code: 'not_found' });
      return;
    }
    await deps.revokeClientTokens(clientId);
    await pages.record(ctx, state.account.customerId, 'dashboard.credential.tokens_revoked', {}, 'success', clientId);
    ctx.status = 303;
    ctx.redirect('/dashboard/tokens');
  });

  return router;
}
