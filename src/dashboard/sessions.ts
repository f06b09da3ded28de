import type { Context } from 'koa';

import { requestOrigin } from '../audit/index.js';
import { randomSecret, type ServerSecrets } from '../secrets/index.js';
import type { Store, StoredDocument } from '../store/index.js';
import { cookieScope, type CookieScope } from '../http/cookie-scope.js';

export const DASHBOARD_SESSIONS_COLLECTION = 'dashboard_sessions';
const COOKIE = 'authtoken.dashboard';

/** A signed-in dashboard visit: whose, how they signed in (amr), from where. */
export interface DashboardSession {
  id: string;
  accountId: string;
  amr: string[];
  createdAt: Date;
  ip: string;
  userAgent: string;
  /** When this browser last opened a dashboard page (moved on at most once per interval). */
  lastSeenAt: Date;
  /** Whether the cookie outlives the browser ("keep me signed in on this device" was ticked at sign-in). */
  persistent: boolean;
  /** Until when this session's last re-authentication lets it make credential changes without asking again. */
  identityConfirmedUntil: Date | undefined;
}

interface SessionDocument extends StoredDocument {
  accountId: string;
  amr: string[];
  createdAt: Date;
  ip: string;
  userAgent: string;
  /** Absent on sessions started before it was recorded. */
  lastSeenAt?: Date;
  /** Absent on sessions started before the choice existed, whose cookies were all persistent. */
  persistent?: boolean;
  /** Set by a re-authentication; only ever on this session's own document, so no other session inherits it. */
  identityConfirmedUntil?: Date;
}

/**
 * The dashboard's own sessions, in the Store (so every instance sees them and they can be ended from
 * elsewhere, e.g. when the password changes). The cookie holds a random token; only its keyed hash is stored.
 */
export class DashboardSessions {
  readonly #cookie: CookieScope;

  constructor(
    private readonly store: Store,
    private readonly secrets: ServerSecrets,
    private readonly settings: { ttlSeconds: number; secureCookies: boolean; lastSeenIntervalSeconds: number },
  ) {
    this.#cookie = cookieScope(COOKIE, settings.secureCookies, '/dashboard');
  }

  get #collection() {
    return this.store.collection<SessionDocument>(DASHBOARD_SESSIONS_COLLECTION);
  }

  /**
   * A new session and its cookie: a persistent cookie (DASHBOARD_SESSION_TTL_SECONDS) only when `persistent`,
   * otherwise one that ends with the browser. The stored session ends after the TTL either way.
   */
  async start(ctx: Context, accountId: string, amr: string[], options: { persistent: boolean }): Promise<void> {
    const token = randomSecret(32);
    const now = new Date();
    await this.#collection.insert({
      _id: this.secrets.keyedHash('token-hash', token),
      accountId,
      amr,
      createdAt: now,
      lastSeenAt: now,
      ip: ctx.ip,
      userAgent: requestOrigin(ctx).userAgent ?? '',
      persistent: options.persistent,
      expiresAt: new Date(now.getTime() + this.settings.ttlSeconds * 1000),
    });
    ctx.cookies.set(this.#cookie.name, token, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#cookie.secure,
      path: this.#cookie.path,
      ...(options.persistent ? { maxAge: this.settings.ttlSeconds * 1000 } : {}),
    });
  }

  async current(ctx: Context): Promise<DashboardSession | undefined> {
    const token = ctx.cookies.get(this.#cookie.name, { signed: true });
    if (!token || token.length > 128) return undefined;
    const document = await this.#collection.findOne({ _id: { $in: this.secrets.keyedHashCandidates('token-hash', token) } });
    if (!document) return undefined;
    await this.#noteSeen(document);
    return toSession(document);
  }

  /** One conditional write per interval at most: most page views only read. */
  async #noteSeen(document: SessionDocument): Promise<void> {
    const now = new Date();
    const lastSeenAt = document.lastSeenAt ?? document.createdAt;
    if (now.getTime() - lastSeenAt.getTime() < this.settings.lastSeenIntervalSeconds * 1000) return;
    await this.#collection.updateOne({ _id: document._id }, { $set: { lastSeenAt: now } });
    document.lastSeenAt = now;
  }

  /**
   * Records a re-authentication of this session (sudo mode): kept server-side on the session, never in a
   * cookie, so a client cannot forge or extend it and another session of the account does not share it.
   */
  async confirmIdentity(sessionId: string, seconds: number): Promise<Date> {
    const until = new Date(Date.now() + seconds * 1000);
    await this.#collection.updateOne({ _id: sessionId }, { $set: { identityConfirmedUntil: until } });
    return until;
  }

  /**
   * Records on the session a second factor it proved after signing in (the code that confirmed an authenticator
   * it enrolled), so it goes on once the account needs one (DashboardPages.signedIn).
   */
  async withSecondFactor(sessionId: string, amr: readonly string[]): Promise<void> {
    await this.#collection.updateOne({ _id: sessionId }, { $set: { amr: [...amr] } });
  }

  async end(ctx: Context, session: DashboardSession | undefined): Promise<void> {
    if (session) await this.#collection.deleteMany({ _id: session.id });
    ctx.cookies.set(this.#cookie.name, null, { signed: true, path: this.#cookie.path, secure: this.#cookie.secure });
  }

  /** The account's dashboard sessions, newest first. */
  async listOf(accountId: string, limit: number): Promise<DashboardSession[]> {
    const documents = await this.#collection.find({ accountId }, { sort: { createdAt: -1 }, limit });
    return documents.map(toSession);
  }

  /** Ends one dashboard session of an account (signed out from another browser); false when not the account's. */
  async endOneOf(accountId: string, id: string): Promise<boolean> {
    return (await this.#collection.deleteMany({ _id: id, accountId })) > 0;
  }

  /** Ends every dashboard session of an account but the one asking ("sign out all other sessions"). */
  async endOthersOf(accountId: string, keepId: string): Promise<number> {
    return this.#collection.deleteMany({ accountId, _id: { $ne: keepId } });
  }

  /** Ends every dashboard session of an account (password change, account lock). */
  async endAllOf(accountId: string): Promise<number> {
    return this.#collection.deleteMany({ accountId });
  }
}

function toSession(document: SessionDocument): DashboardSession {
  return {
    id: document._id,
    accountId: document.accountId,
    amr: document.amr,
    createdAt: document.createdAt,
    ip: document.ip,
    userAgent: document.userAgent,
    lastSeenAt: document.lastSeenAt ?? document.createdAt,
    persistent: document.persistent !== false,
    identityConfirmedUntil: document.identityConfirmedUntil,
  };
}
