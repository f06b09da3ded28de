import type { KoaContextWithOIDC } from 'oidc-provider';

import { Views } from '../views/index.js';

/**
 * Our RP-initiated logout pages. oidc-provider's defaults import third-party fonts, which our CSP blocks
 * (a console error in every browser). `form` is oidc-provider's own hidden form with its xsrf token.
 */
export function logoutPages(views: Views) {
  const clientName = (ctx: KoaContextWithOIDC) => ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
  return {
    logoutSource: async (ctx: KoaContextWithOIDC, form: string): Promise<void> => {
      ctx.type = 'html';
      ctx.body = views.render('./logout', { form, clientName: clientName(ctx) });
    },
    postLogoutSuccessSource: async (ctx: KoaContextWithOIDC): Promise<void> => {
      ctx.type = 'html';
      ctx.body = views.render('./logged-out', { clientName: clientName(ctx) });
    },
  };
}
