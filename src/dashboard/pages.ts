import type { Context } from 'koa';

import type { Account, AccountService } from '../accounts/index.js';
import { requestOrigin, type AuditLog, type RequestOrigin } from '../audit/index.js';
import type { CsrfProtection } from '../http/csrf.js';
import { formField } from '../http/request-body.js';
import { respondWithErrorPage, type Views } from '../views/index.js';
import type { DashboardSession, DashboardSessions } from './sessions.js';

/** The CSRF purpose of the signed-in dashboard's forms (the navigation's sign-out form included). */
export const DASHBOARD_CSRF_PURPOSE = 'dashboard';

export interface SignedInCustomer {
  session: DashboardSession;
  account: Account;
}

export interface DashboardPagesDependencies {
  views: Views;
  csrf: CsrfProtection;
  sessions: DashboardSessions;
  accounts: AccountService;
  audit: AuditLog;
  /** Whether the account needs a second factor now (one enrolled, REQUIRE_MFA, or an operator's require-mfa). */
  secondFactorNeeded(accountId: string): Promise<boolean>;
}

/** amr values that say a second factor was proved (RFC 8176). */
const SECOND_FACTOR_AMR = new Set(['otp', 'mfa']);

export function provedSecondFactor(amr: readonly string[]): boolean {
  return amr.some((value) => SECOND_FACTOR_AMR.has(value));
}

export { formField };

/**
 * What every dashboard page module needs: rendering with the form token, error pages, the signed-in
 * customer, CSRF checks and audit events, with the same rules as the overview and credentials pages.
 */
export class DashboardPages {
  constructor(private readonly deps: DashboardPagesDependencies) {}

  render(ctx: Context, template: string, data: Record<string, unknown>, options: { status?: number; csrfPurpose?: string } = {}): void {
    ctx.status = options.status ?? 200;
    ctx.type = 'html';
    ctx.body = this.deps.views.render(template, { ...data, csrf: this.deps.csrf.token(ctx, options.csrfPurpose ?? DASHBOARD_CSRF_PURPOSE) });
  }

  error(ctx: Context, status: number, page: { title: string; message: string; code: string; backUrl?: string }): void {
    respondWithErrorPage(ctx, this.deps.views, status, { backUrl: '/dashboard', ...page });
  }

  /**
   * The signed-in customer, or a redirect to sign in (an account no longer active does not count). A session
   * signed in with the password alone ends once the account needs a second factor (enrolled since, from this
   * session or elsewhere, or required by policy): whoever holds it, say the phisher the owner added the factor
   * against, must sign in again with that factor. The session that enrolls one records it (withSecondFactor).
   */
  async signedIn(ctx: Context): Promise<SignedInCustomer | undefined> {
    const session = await this.deps.sessions.current(ctx);
    const account = session ? await this.deps.accounts.findById(session.accountId) : undefined;
    const signedIn = session !== undefined && account !== undefined && account.status === 'active';
    if (signedIn && (provedSecondFactor(session.amr) || !(await this.deps.secondFactorNeeded(account.customerId)))) return { session, account };
    if (signedIn) await this.deps.sessions.end(ctx, session);
    ctx.status = 303;
    ctx.redirect('/dashboard/signin');
    return undefined;
  }

  /** True when the form carries this browser's token; otherwise answers 403 with a page. */
  csrfValid(ctx: Context, purpose = DASHBOARD_CSRF_PURPOSE): boolean {
    if (this.deps.csrf.verify(ctx, purpose, formField(ctx, 'csrf'))) return true;
    this.error(ctx, 403, {
      title: 'Please try again',
      message: 'The form was out of date or did not come from this site. Reload the page and submit it again.',
      code: 'invalid_csrf_token',
    });
    return false;
  }

  /**
   * An audit event of the dashboard channel; details must never hold a secret. Work done after the answer
   * passes the request's origin, taken before answering, instead of the request itself.
   */
  async record(
    from: Context | RequestOrigin,
    accountId: string,
    action: string,
    details: Record<string, string | boolean | string[]> = {},
    outcome: 'success' | 'failure' = 'success',
    /** The client the event concerns (a credential, the app a token was issued to). */
    clientId?: string,
  ): Promise<void> {
    await this.deps.audit.record({
      action,
      actor: { type: 'user', id: accountId },
      accountId,
      ...(clientId ? { clientId } : {}),
      outcome,
      ...('req' in from ? requestOrigin(from) : from),
      details: { channel: 'dashboard', ...details },
    });
  }
}
