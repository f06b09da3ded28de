import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { Account } from '../accounts/index.js';
import type { AuditLog } from '../audit/index.js';
import { hasControlCharacters } from '../clients/index.js';
import { requestBodyParser } from '../http/request-body.js';
import type { MfaService } from '../mfa/index.js';
import { runTokenRequest } from '../provider/index.js';
import type { ConnectedApps } from './connected-apps.js';
import { MAX_CREDENTIALS_PER_ACCOUNT, type CustomerCredentials } from './credentials.js';
import { formField, type DashboardPages, type SignedInCustomer } from './pages.js';
import type { DashboardSessions } from './sessions.js';
import type { SignedInSessions } from './signed-in-sessions.js';
import { DASHBOARD_CALLBACK_PATH, type DashboardSignIn } from './sign-in.js';
import { tokenSnippets } from './snippets.js';

export interface DashboardDependencies {
  issuer: string;
  /** Rendering, sign-in state, CSRF and audit, shared with the page modules in `sections`. */
  pages: DashboardPages;
  sessions: DashboardSessions;
  /** Both kinds of session: signing out ends this browser's sign-in session with its dashboard one. */
  signedInSessions: SignedInSessions;
  signIn: DashboardSignIn;
  credentials: CustomerCredentials;
  mfa: MfaService;
  audit: AuditLog;
  /** The API scopes an account may put on its credentials. */
  grantableScopes(account: Account): string[];
  /** The roles a new credential holds: those of the account its scopes require (client tokens carry client roles). */
  credentialRoles(account: Account, scopes: string[]): string[];
  /** Revokes every token a client obtained (opaque and JWT), before it is deleted. */
  revokeClientTokens(clientId: string): Promise<unknown>;
  /** The provider's middleware, for minting a token in-process ("Try with code"). */
  provider: () => Middleware;
  /** How long a replaced secret keeps working after a rotation. */
  secretRotationGraceSeconds: number;
  connectedApps: ConnectedApps;
  /** Revokes one grant and every token issued under it. */
  revokeGrant(grantId: string): Promise<unknown>;
  /** Pages in their own modules (on DashboardPages), mounted under /dashboard with this router's middleware. */
  sections: Router[];
}

const FORM_LIMIT = '16kb';
/** How many of the account's latest audit events the activity page shows. */
const ACTIVITY_EVENTS = 50;
/** The second factor, as the login pages record it (RFC 8176). */
const SECOND_FACTOR_AMR = new Set(['otp', 'mfa']);

function formList(ctx: Context, name: string): string[] {
  const body = ctx.request.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/**
 * The customer dashboard: overview with "Getting started", API credentials (create with the secret shown
 * once, "Try with code", delete). Server-rendered, every form CSRF-protected, usable without JavaScript.
 */
export function dashboardRoutes(deps: DashboardDependencies): Router {
  const { pages, sessions, signIn, credentials, audit } = deps;
  const router = new Router({ prefix: '/dashboard' });
  const tokenEndpoint = `${deps.issuer}/token`;

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
    const provedSecondFactor = result.amr.some((value) => SECOND_FACTOR_AMR.has(value));
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

  async function renderCredentials(ctx: Context, state: SignedInCustomer, form: { name?: string; scopes?: string[]; error?: string } = {}, status = 200) {
    pages.render(
      ctx,
      './dashboard-credentials',
      {
        credentials: await credentials.list(state.account.customerId),
        grantableScopes: deps.grantableScopes(state.account),
        name: form.name ?? '',
        chosenScopes: form.scopes ?? [],
        error: form.error,
      },
      { status },
    );
  }

  router.get('/credentials', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (state) await renderCredentials(ctx, state);
  });

  router.post('/credentials', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const name = formField(ctx, 'name').trim();
    const scopes = [...new Set(formList(ctx, 'scope'))];
    const grantable = deps.grantableScopes(state.account);
    let error: string | undefined;
    if (name.length === 0 || name.length > 80) error = 'Give the credential a name of 1 to 80 characters.';
    // The client registry refuses control characters in names; say so here rather than fail there.
    else if (hasControlCharacters(name)) error = 'Give the credential a name without control characters (such as line breaks).';
    else if (scopes.length === 0) error = 'Choose at least one scope.';
    else if (scopes.some((scope) => !grantable.includes(scope))) error = 'One of the scopes is not one your account may grant.';
    else if ((await credentials.count(state.account.customerId)) >= MAX_CREDENTIALS_PER_ACCOUNT) {
      error = `An account may have at most ${MAX_CREDENTIALS_PER_ACCOUNT} credentials; delete one first.`;
    }
    if (error) {
      await renderCredentials(ctx, state, { name, scopes, error }, 400);
      return;
    }
    const created = await credentials.create(state.account.customerId, name, scopes, deps.credentialRoles(state.account, scopes));
    await pages.record(ctx, state.account.customerId, 'dashboard.credential.created', { name, scopes }, 'success', created.clientId);
    const scope = scopes.join(' ');
    // "Try with code": a real token for the new credential, minted through the token endpoint in-process.
    const minted = await runTokenRequest(
      ctx,
      { grant_type: 'client_credentials', scope },
      deps.provider(),
      created,
    );
    pages.render(ctx, './dashboard-credential-created', {
      name,
      clientId: created.clientId,
      clientSecret: created.clientSecret,
      scope,
      token: typeof minted.body.access_token === 'string' ? minted.body.access_token : undefined,
      expiresIn: minted.body.expires_in,
      mintError: typeof minted.body.error_description === 'string' ? minted.body.error_description : undefined,
      snippets: tokenSnippets(tokenEndpoint, created.clientId, created.clientSecret, scope),
    });
  });

  /** The signed-in owner of the credential named in the path, or an answered request. */
  async function ownedCredential(ctx: Context): Promise<{ state: SignedInCustomer; clientId: string } | undefined> {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return undefined;
    const clientId = ctx.params.clientId ?? '';
    if (!(await credentials.owns(state.account.customerId, clientId))) {
      pages.error(ctx, 404, { title: 'No such credential', message: 'It may have been deleted already.', code: 'not_found' });
      return undefined;
    }
    return { state, clientId };
  }

  router.post('/credentials/:clientId/rotate', async (ctx) => {
    const owned = await ownedCredential(ctx);
    if (!owned) return;
    const rotated = await credentials.rotate(owned.clientId, deps.secretRotationGraceSeconds);
    if (!rotated) {
      pages.error(ctx, 404, { title: 'No such credential', message: 'It may have been deleted already.', code: 'not_found' });
      return;
    }
    await pages.record(ctx, owned.state.account.customerId, 'dashboard.credential.secret_rotated', { previousValidUntil: rotated.previousValidUntil.toISOString() }, 'success', owned.clientId);
    pages.render(ctx, './dashboard-secret-rotated', {
      clientId: owned.clientId,
      clientSecret: rotated.clientSecret,
      previousValidUntil: rotated.previousValidUntil,
    });
  });

  router.post('/credentials/:clientId/revoke-previous-secret', async (ctx) => {
    const owned = await ownedCredential(ctx);
    if (!owned) return;
    await credentials.revokePreviousSecret(owned.clientId);
    // The tokens the old secret obtained cannot be told apart from the new secret's: all of the client's go.
    await deps.revokeClientTokens(owned.clientId);
    await pages.record(ctx, owned.state.account.customerId, 'dashboard.credential.previous_secret_revoked', {}, 'success', owned.clientId);
    ctx.status = 303;
    ctx.redirect('/dashboard/credentials');
  });

  router.post('/credentials/:clientId/delete', async (ctx) => {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return;
    const clientId = ctx.params.clientId ?? '';
    if (!(await credentials.owns(state.account.customerId, clientId))) {
      pages.error(ctx, 404, { title: 'No such credential', message: 'It may have been deleted already.', code: 'not_found' });
      return;
    }
    await deps.revokeClientTokens(clientId);
    await credentials.delete(state.account.customerId, clientId);
    await pages.record(ctx, state.account.customerId, 'dashboard.credential.deleted', {}, 'success', clientId);
    ctx.status = 303;
    ctx.redirect('/dashboard/credentials');
  });

  for (const section of deps.sections) router.use(section.routes());

  return router;
}
