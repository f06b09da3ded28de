import type { Context } from 'koa';

import {
  endOtherSignInSessions,
  endSignInSession,
  signInSessionOfRequest,
  signInSessionsOf,
} from '../provider/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { describeDevice } from './device-description.js';
import type { RecordReferences } from './references.js';
import type { SessionDevices } from './session-devices.js';
import type { DashboardSessions } from './sessions.js';

/** How many sessions of each kind the page lists, most recently active first. */
export const MAX_LISTED_SESSIONS = 50;

/**
 * The two kinds of session a person has here: the sign-in session of the login pages (oidc-provider's, what
 * lets apps sign them in without a password), and the dashboard's own.
 */
export type SessionKind = 'sign-in' | 'dashboard';

export interface SignedInSession {
  /** A sealed reference (references.ts): never the session id, which is the cookie value. */
  reference: string;
  kind: SessionKind;
  device: string;
  /** Unknown for a sign-in session started before devices were recorded. */
  ip: string | undefined;
  signedInAt: Date | undefined;
  lastSeenAt: Date | undefined;
  /** The session of the browser looking at the page. */
  current: boolean;
}

/** `grantsRevoked`: how many app grants ended with a sign-in session (a dashboard session gives apps none). */
export type SessionEnding =
  | { ended: false }
  | { ended: true; kind: 'dashboard'; ownDashboardSession: boolean }
  | { ended: true; kind: 'sign-in'; ownDashboardSession: false; grantsRevoked: number };

/** How many sessions "sign out all other sessions" ended, and how many app grants ended with them. */
export interface OtherSessionsEnded {
  signInSessions: number;
  dashboardSessions: number;
  grantsRevoked: number;
}

function isSessionKind(value: string): value is SessionKind {
  return value === 'sign-in' || value === 'dashboard';
}

/**
 * Lists and ends an account's sessions of both kinds. Ending a sign-in session deletes it: the browser's
 * next authorization request finds none (prompt=none answers login_required). It also revokes the grants
 * the session gave apps, with their tokens, as oidc-provider's own logout does: someone signing out a session
 * they do not recognise expects whoever holds it to lose access. Apps granted offline access keep it, as after
 * a logout (the connected apps page revokes those). Ending a dashboard session signs that browser out of the
 * dashboard; it gave apps nothing, so no token is touched.
 */
export class SignedInSessions {
  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly references: RecordReferences,
    private readonly devices: SessionDevices,
    private readonly dashboardSessions: DashboardSessions,
    /** Whether cookies are Secure (an https issuer), which names the provider's session cookie. */
    private readonly secureCookies: boolean,
  ) {}

  async list(ctx: Context, accountId: string, currentDashboardSessionId: string): Promise<SignedInSession[]> {
    const [signInSessions, ofThisBrowser, dashboardSessions] = await Promise.all([
      signInSessionsOf(this.store, accountId, MAX_LISTED_SESSIONS),
      signInSessionOfRequest(ctx, this.store, this.secrets, this.secureCookies),
      this.dashboardSessions.listOf(accountId, MAX_LISTED_SESSIONS),
    ]);
    const devices = await this.devices.of(accountId, signInSessions.map((session) => session.uid));
    const listed: SignedInSession[] = [
      ...signInSessions.map((session) => {
        const device = devices.get(session.uid);
        return {
          reference: this.references.seal('sign-in', accountId, session.storedId),
          kind: 'sign-in' as const,
          device: device ? describeDevice(device.userAgent) : 'Unknown device',
          ip: device?.ip,
          signedInAt: session.signedInAt ?? device?.signedInAt,
          lastSeenAt: device?.lastSeenAt,
          current: ofThisBrowser?.storedId === session.storedId,
        };
      }),
      ...dashboardSessions.map((session) => ({
        reference: this.references.seal('dashboard', accountId, session.id),
        kind: 'dashboard' as const,
        device: describeDevice(session.userAgent),
        ip: session.ip,
        signedInAt: session.createdAt,
        lastSeenAt: session.lastSeenAt,
        current: session.id === currentDashboardSessionId,
      })),
    ];
    // The browser looking first, then by last activity.
    return listed.sort((a, b) => Number(b.current) - Number(a.current) || (b.lastSeenAt?.getTime() ?? 0) - (a.lastSeenAt?.getTime() ?? 0));
  }

  /**
   * Ends the session a reference names, only if it is the account's. `ownDashboardSession` when it was the
   * dashboard session of the browser asking (which is then signed out of the dashboard).
   */
  async end(accountId: string, kind: string, reference: string, currentDashboardSessionId: string): Promise<SessionEnding> {
    if (!isSessionKind(kind)) return { ended: false };
    const storedId = this.references.open(kind, accountId, reference);
    if (storedId === undefined) return { ended: false };
    if (kind === 'dashboard') {
      if (!(await this.dashboardSessions.endOneOf(accountId, storedId))) return { ended: false };
      return { ended: true, kind, ownDashboardSession: storedId === currentDashboardSessionId };
    }
    const ended = await endSignInSession(this.store, accountId, storedId);
    if (!ended) return { ended: false };
    await this.devices.forget(ended.uid);
    return { ended: true, kind, ownDashboardSession: false, grantsRevoked: ended.grantsRevoked };
  }

  /**
   * Ends this browser's sign-in session (whoever it signed in: the browser asks for itself), with what `end`
   * ends along with it. Signing out of the dashboard does this: otherwise the next visit signed straight back in
   * through it, with no password (OpenID RP-Initiated Logout ends the provider's session too). Whether one ended.
   */
  async endThisBrowsers(ctx: Context): Promise<boolean> {
    const ofThisBrowser = await signInSessionOfRequest(ctx, this.store, this.secrets, this.secureCookies);
    if (!ofThisBrowser) return false;
    const ended = await endSignInSession(this.store, ofThisBrowser.accountId, ofThisBrowser.storedId);
    if (!ended) return false;
    await this.devices.forget(ended.uid);
    return true;
  }

  /**
   * Ends every session of the account except this browser's (its sign-in session and its dashboard session),
   * revoking the grants the ended sign-in sessions gave apps, as `end` does.
   */
  async endOthers(ctx: Context, accountId: string, currentDashboardSessionId: string): Promise<OtherSessionsEnded> {
    const ofThisBrowser = await signInSessionOfRequest(ctx, this.store, this.secrets, this.secureCookies);
    const keep = ofThisBrowser?.accountId === accountId ? ofThisBrowser : undefined;
    const signIn = await endOtherSignInSessions(this.store, accountId, keep?.storedId);
    await this.devices.forgetOthersOf(accountId, keep?.uid);
    const dashboardSessions = await this.dashboardSessions.endOthersOf(accountId, currentDashboardSessionId);
    return { signInSessions: signIn.ended, dashboardSessions, grantsRevoked: signIn.grantsRevoked };
  }
}
