import Router from '@koa/router';

import type { ActiveTokens } from './active-tokens.js';
import type { CustomerCredentials } from './credentials.js';
import type { DashboardPageKit, DashboardSection } from './page-kit.js';

export interface TokenListDependencies {
  activeTokens: ActiveTokens;
  credentials: CustomerCredentials;
  /** Revokes every token a client obtained, JWTs included ("revoked before" entry). */
  revokeClientTokens(clientId: string): Promise<unknown>;
}

/**
 * "Active tokens": the account's stored tokens and its credentials', each revocable, and per credential a
 * "revoke all its tokens" that also reaches its JWT access tokens (which are never stored, so never listed).
 * Token references travel in the form body, not the URL, so they stay out of request logs.
 */
export function tokenListRoutes(deps: TokenListDependencies): DashboardSection {
  return (kit: DashboardPageKit) => {
    const router = new Router();

    router.get('/tokens', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state) return;
      const accountId = state.account.customerId;
      const credentials = await deps.credentials.list(accountId);
      const { tokens, truncated } = await deps.activeTokens.list(accountId, credentials.map((credential) => credential.clientId));
      kit.page(ctx, './dashboard-tokens', { tokens, truncated, credentials });
    });

    router.post('/tokens/revoke', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state || !kit.csrfValid(ctx)) return;
      const accountId = state.account.customerId;
      const credentials = await deps.credentials.list(accountId);
      const revoked = await deps.activeTokens.revoke(
        accountId,
        credentials.map((credential) => credential.clientId),
        kit.formField(ctx, 'kind'),
        kit.formField(ctx, 'token'),
      );
      if (!revoked.revoked) {
        kit.errorPage(ctx, 404, 'No such token', 'It may have expired or been revoked already.', 'not_found');
        return;
      }
      await kit.record(
        ctx,
        accountId,
        'dashboard.token.revoked',
        { kind: revoked.model === 'RefreshToken' ? 'refresh' : 'access', grantRevoked: String(revoked.grantRevoked) },
        revoked.clientId,
      );
      ctx.status = 303;
      ctx.redirect('/dashboard/tokens');
    });

    router.post('/tokens/credentials/:clientId/revoke-all', async (ctx) => {
      const state = await kit.signedIn(ctx);
      if (!state || !kit.csrfValid(ctx)) return;
      const clientId = ctx.params.clientId ?? '';
      if (!(await deps.credentials.owns(state.account.customerId, clientId))) {
        kit.errorPage(ctx, 404, 'No such credential', 'It may have been deleted already.', 'not_found');
        return;
      }
      await deps.revokeClientTokens(clientId);
      await kit.record(ctx, state.account.customerId, 'dashboard.credential.tokens_revoked', {}, clientId);
      ctx.status = 303;
      ctx.redirect('/dashboard/tokens');
    });

    return router;
  };
}
