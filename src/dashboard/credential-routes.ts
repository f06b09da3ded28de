import Router from '@koa/router';
import type { Context, Middleware } from 'koa';

import type { Account } from '../accounts/index.js';
import { hasControlCharacters } from '../clients/index.js';
import type { MfaService } from '../mfa/index.js';
import { runTokenRequest } from '../provider/index.js';
import { MAX_CREDENTIALS_PER_ACCOUNT, type CustomerCredentials } from './credentials.js';
import { formField, type DashboardPages, type SignedInCustomer } from './pages.js';
import { credentialCreatedNotice, secretRotatedNotice, type SecurityNotify } from './security-notices.js';
import { tokenSnippets } from './snippets.js';
import type { SudoConfirmation, SudoMode } from './sudo-mode.js';

export interface CredentialPageDependencies {
  issuer: string;
  pages: DashboardPages;
  credentials: CustomerCredentials;
  mfa: MfaService;
  /** Re-authentication before a change that adds API access, remembered for a while by this session. */
  sudo: SudoMode;
  notify: SecurityNotify;
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
}

interface CreateForm {
  name?: string;
  scopes?: string[];
  error?: string;
  /** A failed or missing re-authentication, shown beside its fields. */
  confirmError?: string;
}

function formList(ctx: Context, name: string): string[] {
  const body = ctx.request.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/**
 * API credentials: create (the secret shown once, with "Try with code"), rotate the secret, end the old one,
 * delete. Creating and rotating add API access, so they need re-authentication (sudo mode) and the owner gets
 * an email notice; deleting and ending an old secret only take access away and need neither. Mounted inside
 * the dashboard router (routes.ts), whose no-store and form-parsing middleware it runs behind.
 */
export function credentialRoutes(deps: CredentialPageDependencies): Router {
  const { pages, credentials, sudo } = deps;
  const router = new Router();
  const tokenEndpoint = `${deps.issuer}/token`;

  /** The proof fields of the page's re-authentication form (the security page's names). */
  const proofOf = (ctx: Context) => ({ password: formField(ctx, 'password'), code: formField(ctx, 'code') });
  const hasSecondFactor = async (state: SignedInCustomer) => (await deps.mfa.methodsFor(state.account.customerId)).length > 0;

  async function renderCredentials(ctx: Context, state: SignedInCustomer, form: CreateForm = {}, status = 200): Promise<void> {
    pages.render(
      ctx,
      './dashboard-credentials',
      {
        credentials: await credentials.list(state.account.customerId),
        grantableScopes: deps.grantableScopes(state.account),
        name: form.name ?? '',
        chosenScopes: form.scopes ?? [],
        error: form.error,
        confirmError: form.confirmError,
        // Within the window the create form asks for nothing more; the server checks again on submit anyway.
        askForProof: !sudo.isConfirmed(state),
        username: state.account.email,
        proofWithCode: await hasSecondFactor(state),
        confirmationLasts: sudo.describeWindow(),
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
    // After the form checks, so a typo in the name does not cost a password attempt against the throttle.
    const confirmed = await sudo.confirm(state, proofOf(ctx), ctx.ip);
    if (!confirmed.ok) {
      await pages.record(ctx, state.account.customerId, 'dashboard.credential.created', { reason: 'reauthentication_failed' }, 'failure');
      await renderCredentials(ctx, state, { name, scopes, confirmError: confirmed.error }, 400);
      return;
    }
    const created = await credentials.create(state.account.customerId, name, scopes, deps.credentialRoles(state.account, scopes));
    await pages.record(ctx, state.account.customerId, 'dashboard.credential.created', { name, scopes, reauthenticated_with: confirmed.by }, 'success', created.clientId);
    const notice = credentialCreatedNotice({ name, clientId: created.clientId }, new Date());
    await deps.notify(state.account, notice.subject, notice.text);
    const scope = scopes.join(' ');
    // "Try with code": a real token for the new credential, minted through the token endpoint in-process.
    const minted = await runTokenRequest(ctx, { grant_type: 'client_credentials', scope }, deps.provider(), created);
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

  const notFound = (ctx: Context) => pages.error(ctx, 404, { title: 'No such credential', message: 'It may have been deleted already.', code: 'not_found' });

  /** The signed-in owner of the credential named in the path, or an answered request. */
  async function ownedCredential(ctx: Context): Promise<{ state: SignedInCustomer; clientId: string } | undefined> {
    const state = await pages.signedIn(ctx);
    if (!state || !pages.csrfValid(ctx)) return undefined;
    const clientId = ctx.params.clientId ?? '';
    if (!(await credentials.owns(state.account.customerId, clientId))) {
      notFound(ctx);
      return undefined;
    }
    return { state, clientId };
  }

  /**
   * Rotation outside the window: the list's "Rotate secret" button carries no proof, so the first answer is
   * a page asking for it (posting back here); a wrong or empty proof from that page shows it again with the error.
   */
  async function confirmRotation(ctx: Context, state: SignedInCustomer, clientId: string): Promise<SudoConfirmation | undefined> {
    const fromConfirmPage = formField(ctx, 'confirming') === '1';
    if (!fromConfirmPage && !sudo.isConfirmed(state)) {
      await renderRotationConfirmation(ctx, state, clientId, undefined);
      return undefined;
    }
    const confirmed = await sudo.confirm(state, proofOf(ctx), ctx.ip);
    if (!confirmed.ok) {
      await pages.record(ctx, state.account.customerId, 'dashboard.credential.secret_rotated', { reason: 'reauthentication_failed' }, 'failure', clientId);
      await renderRotationConfirmation(ctx, state, clientId, confirmed.error);
      return undefined;
    }
    return confirmed;
  }

  async function renderRotationConfirmation(ctx: Context, state: SignedInCustomer, clientId: string, error: string | undefined): Promise<void> {
    const name = await credentials.nameOf(clientId);
    if (name === undefined) {
      notFound(ctx);
      return;
    }
    pages.render(
      ctx,
      './dashboard-confirm-rotation',
      { name, clientId, error, username: state.account.email, withCode: await hasSecondFactor(state), confirmationLasts: sudo.describeWindow() },
      { status: error ? 400 : 200 },
    );
  }

  router.post('/credentials/:clientId/rotate', async (ctx) => {
    const owned = await ownedCredential(ctx);
    if (!owned) return;
    const confirmed = await confirmRotation(ctx, owned.state, owned.clientId);
    if (!confirmed?.ok) return;
    const name = await credentials.nameOf(owned.clientId);
    const rotated = name === undefined ? undefined : await credentials.rotate(owned.clientId, deps.secretRotationGraceSeconds);
    if (name === undefined || !rotated) {
      notFound(ctx);
      return;
    }
    await pages.record(
      ctx,
      owned.state.account.customerId,
      'dashboard.credential.secret_rotated',
      { previousValidUntil: rotated.previousValidUntil.toISOString(), reauthenticated_with: confirmed.by },
      'success',
      owned.clientId,
    );
    const notice = secretRotatedNotice({ name, clientId: owned.clientId }, new Date(), rotated.previousValidUntil);
    await deps.notify(owned.state.account, notice.subject, notice.text);
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

  // No re-authentication: deleting takes access away, and a person reacting to a notice must be able to.
  router.post('/credentials/:clientId/delete', async (ctx) => {
    const owned = await ownedCredential(ctx);
    if (!owned) return;
    await deps.revokeClientTokens(owned.clientId);
    await credentials.delete(owned.state.account.customerId, owned.clientId);
    await pages.record(ctx, owned.state.account.customerId, 'dashboard.credential.deleted', {}, 'success', owned.clientId);
    ctx.status = 303;
    ctx.redirect('/dashboard/credentials');
  });

  return router;
}
