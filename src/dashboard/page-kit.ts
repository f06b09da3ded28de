import type Router from '@koa/router';
import type { Context } from 'koa';

import type { Account } from '../accounts/index.js';
import type { DashboardSession } from './sessions.js';

/** The signed-in customer a dashboard page acts for. */
export interface SignedInState {
  session: DashboardSession;
  account: Account;
}

/**
 * What every dashboard page shares (routes.ts owns it): rendering with the CSRF token, the error page, the
 * signed-in check, CSRF verification and the audit record. Pages in their own modules get it as a whole,
 * so they behave exactly like the ones in routes.ts.
 */
export interface DashboardPageKit {
  page(ctx: Context, template: string, data: Record<string, unknown>, status?: number): void;
  errorPage(ctx: Context, status: number, title: string, message: string, code: string): void;
  /** The signed-in customer, or undefined after answering with a redirect to sign in. */
  signedIn(ctx: Context): Promise<SignedInState | undefined>;
  /** True when the form's CSRF token is valid; otherwise answers 403 with the error page. */
  csrfValid(ctx: Context): boolean;
  formField(ctx: Context, name: string): string;
  /** Writes an audit event for the account, with requestOrigin(ctx); details must hold no secret. */
  record(ctx: Context, accountId: string, action: string, details: Record<string, string | string[]>, clientId?: string): Promise<void>;
}

/** A group of dashboard pages in its own module: a router without prefix, mounted under /dashboard. */
export type DashboardSection = (kit: DashboardPageKit) => Router;
