import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { requestOrigin, type RequestOrigin } from '../audit/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Filter, Store } from '../store/index.js';
import { collectionName, hashedIdCandidates, isStoredPayload, readStoredPayload, revokeGrantEverywhere, type OidcDocument, type StoredPayload } from './adapter.js';
import { afterProviderAnswers } from './after-answer.js';

/**
 * The provider's session cookie. Over https it is `__Host-` prefixed: browsers then accept it only Secure,
 * for path / and from this host, so a sibling subdomain cannot plant a session of its choosing (fixation).
 * oidc-provider's interaction cookies are scoped to their interaction's path, which the prefix forbids, so
 * they keep their default names.
 */
export function signInSessionCookieName(secureCookies: boolean): string {
  return secureCookies ? '__Host-session' : '_session';
}

/** How long sign-in sessions live, by the "keep me signed in on this device" choice (config.signInSession). */
export interface SignInSessionLifetimes {
  ttlSeconds: number;
  rememberedTtlSeconds: number;
}

type SessionModel = InstanceType<Provider['Session']>;

/**
 * Whether a sign-in session (oidc-provider's model, or its stored payload) is remembered: the person ticked
 * "keep me signed in on this device", so oidc-provider did not mark it transient.
 */
export function isRememberedSession(session: { transient?: unknown }): boolean {
  return session.transient !== true;
}

/**
 * oidc-provider's `ttl.Session`, which it calls each time it saves a session (at sign-in, and on every later
 * request that passes the session, lib/shared/session.js): a remembered session gets the longer lifetime, a
 * transient one (the person did not tick "keep me signed in": `remember: false` in the login result) the
 * shorter. Counted from the sign-in (loginTs), so using the session does not stretch it beyond that, as
 * Keycloak's "SSO Session Max". A session without a sign-in (none saved normally) gets the shorter one.
 */
export function signInSessionTtl(lifetimes: SignInSessionLifetimes): (ctx: unknown, session: SessionModel) => number {
  return (_ctx, session) => {
    const now = Math.floor(Date.now() / 1000);
    const remembered = session.accountId !== undefined && isRememberedSession(session);
    const lifetime = remembered ? lifetimes.rememberedTtlSeconds : lifetimes.ttlSeconds;
    const signedInAt = typeof session.loginTs === 'number' && session.accountId !== undefined ? Math.min(session.loginTs, now) : now;
    // Never below 1: oidc-provider insists on a positive integer, and a session at its end is saved one last time.
    return Math.max(1, signedInAt + lifetime - now);
  };
}

/**
 * oidc-provider marks a session transient at a login with `remember: false` but never clears the mark at a later
 * login with `remember: true` (Session#loginAccount, lib/models/session.js, only ever adds it). A
 * re-authentication in which the person ticks "keep me signed in" must make the session remembered again.
 */
export function clearTransientAtRememberedLogin(provider: Provider): void {
  const prototype = provider.Session.prototype as SessionModel;
  const loginAccount = prototype.loginAccount;
  prototype.loginAccount = function loginAccountRemembering(this: SessionModel, details: Parameters<SessionModel['loginAccount']>[0]): void {
    loginAccount.call(this, details);
    if (details.transient !== true) delete this.transient;
  };
}

/** Routes on which a browser presents its sign-in session to the provider. */
const SESSION_ROUTES = ['authorization', 'resume'];

/** A sign-in (login) session of the provider, as stored: no id usable as a cookie. */
export interface SignInSession {
  /** The record's stored id (a keyed hash of the session id, which is the cookie value). */
  storedId: string;
  /** The session's stable identifier (it survives the id renewal at each login). */
  uid: string;
  accountId: string;
  signedInAt: Date | undefined;
  expiresAt: Date | undefined;
  /** Whether the person chose "keep me signed in on this device" (oidc-provider's session is not transient). */
  remembered: boolean;
}

/** Told when a browser signs in, comes back with its session, or its session ends; implementations keep it cheap. */
export interface SessionActivityRecorder {
  signedIn(session: { uid: string; accountId: string; signedInAt: Date }, origin: RequestOrigin): Promise<void>;
  seen(session: { uid: string; accountId: string }, origin: RequestOrigin): Promise<void>;
  /** The provider destroyed the session (an OpenID logout): what was recorded about it is no longer needed. */
  forget(uid: string): Promise<void>;
}

/**
 * A sign-in session ended from the dashboard, with how many app grants it named for revocation (each was
 * revoked; one already gone, e.g. revoked on the connected apps page, is counted too).
 */
export interface EndedSignInSession extends SignInSession {
  grantsRevoked: number;
}

/** How many sign-in sessions ended, and how many app grants ended with them. */
export interface SignInSessionsEnded {
  ended: number;
  grantsRevoked: number;
}

/**
 * Reports sign-ins and returning browsers to the recorder, after the provider has answered (and saved the
 * session): only then is the session's uid known for a browser that had none. Only the authorization and
 * resume routes are looked at. Sessions the provider destroys are reported as they go.
 */
export function trackSessionActivity(provider: Provider, recorder: SessionActivityRecorder, onError: (error: unknown) => void): void {
  // The device record (IP, browser) of a signed-out session is personal data with no use left.
  provider.on('session.destroyed', (session) => {
    if (session.uid) recorder.forget(session.uid).catch(onError);
  });
  afterProviderAnswers(provider, SESSION_ROUTES, async (ctx) => {
    const { oidc } = ctx;
    const session = oidc.session;
    if (!session?.accountId || !session.uid) return;
    const origin = requestOrigin(ctx);
    const login = oidc.result?.login;
    try {
      if (login && login.accountId === session.accountId) {
        const signedInAt = new Date((session.loginTs ?? Math.floor(Date.now() / 1000)) * 1000);
        await recorder.signedIn({ uid: session.uid, accountId: session.accountId, signedInAt }, origin);
      } else {
        await recorder.seen({ uid: session.uid, accountId: session.accountId }, origin);
      }
    } catch (error) {
      // The answer is already made; a lost "last seen" must not turn a sign-in into an error.
      onError(error);
    }
  });
}

/**
 * The grants that end with a session, as in oidc-provider's RP-initiated logout (lib/actions/end_session.js):
 * every app authorization's grant except those marked `persistsLogout`, which oidc-provider sets when it
 * issued the app offline_access (lib/helpers/process_response_types.js): offline access is meant to outlive
 * the sign-in. Entries of another shape (an old record without authorizations, say) are skipped.
 */
export function grantsEndingWithSession(payload: StoredPayload | undefined): string[] {
  // Per client: `{ grantId, persistsLogout, sid }`, as oidc-provider's Session#authorizationFor keeps them.
  const authorizations = payload?.authorizations;
  if (!isStoredPayload(authorizations)) return [];
  const grantIds = new Set<string>();
  for (const authorization of Object.values(authorizations)) {
    if (!isStoredPayload(authorization)) continue;
    const { grantId, persistsLogout } = authorization;
    // Truthiness, as oidc-provider tests it.
    if (typeof grantId === 'string' && grantId !== '' && !persistsLogout) grantIds.add(grantId);
  }
  return [...grantIds];
}

/**
 * Ends sessions already read: first the grants they gave apps (grantsEndingWithSession), each grant with every
 * token issued under it (JWT access tokens are refused at introspection once their grant is gone), then the
 * sessions themselves, exactly those read, so a session signed in meanwhile is never deleted with its grants
 * left standing. Grants go first, as in oidc-provider's logout: should the store fail in between, the sessions
 * are still listed and signing them out again finishes the job. One grant at a time: each revocation already
 * deletes from every grant-bound collection at once.
 */
async function endSessions(store: Store, accountId: string, documents: readonly OidcDocument[]): Promise<SignInSessionsEnded> {
  if (documents.length === 0) return { ended: 0, grantsRevoked: 0 };
  const grantIds = new Set(documents.flatMap((document) => grantsEndingWithSession(readStoredPayload(document.data))));
  for (const grantId of grantIds) await revokeGrantEverywhere(store, grantId);
  const ended = await store
    .collection(collectionName('Session'))
    .deleteMany({ accountId, _id: { $in: documents.map((document) => document._id) } });
  return { ended, grantsRevoked: grantIds.size };
}

function toSignInSession(document: OidcDocument): SignInSession | undefined {
  if (!document.accountId || !document.uid) return undefined;
  const payload = readStoredPayload(document.data);
  const loginTs = payload?.loginTs;
  return {
    storedId: document._id,
    uid: document.uid,
    accountId: document.accountId,
    signedInAt: typeof loginTs === 'number' ? new Date(loginTs * 1000) : undefined,
    expiresAt: document.expiresAt,
    remembered: payload !== undefined && isRememberedSession(payload),
  };
}

/** The provider's sign-in sessions of an account (those with a login; the store keeps accountId beside each). */
export async function signInSessionsOf(store: Store, accountId: string, limit: number): Promise<SignInSession[]> {
  const documents = await store.collection<OidcDocument>(collectionName('Session')).find({ accountId }, { sort: { createdAt: -1 }, limit });
  return documents.flatMap((document) => toSignInSession(document) ?? []);
}

/** The sign-in session of the browser making this request, if it has one. */
export async function signInSessionOfRequest(ctx: Context, store: Store, secrets: ServerSecrets, secureCookies: boolean): Promise<SignInSession | undefined> {
  // Signed with the app's keys, which are the provider's cookie keys (see app.ts).
  const sessionId = ctx.cookies.get(signInSessionCookieName(secureCookies), { signed: true });
  if (!sessionId || sessionId.length > 128) return undefined;
  const document = await store.collection<OidcDocument>(collectionName('Session')).findOne({ _id: { $in: hashedIdCandidates(secrets, sessionId) } });
  return document ? toSignInSession(document) : undefined;
}

/**
 * Ends one sign-in session of an account: the browser holding it is signed out (its next authorization
 * request, prompt=none included, finds no session and answers login_required), and the apps it signed in
 * lose the access they got through it, as after an OpenID logout (endSessions). Undefined when not the
 * account's.
 */
export async function endSignInSession(store: Store, accountId: string, storedId: string): Promise<EndedSignInSession | undefined> {
  const document = await store.collection<OidcDocument>(collectionName('Session')).findOne({ _id: storedId, accountId });
  if (!document) return undefined;
  const { ended, grantsRevoked } = await endSessions(store, accountId, [document]);
  if (ended === 0) return undefined;
  const session = toSignInSession(document);
  return session && { ...session, grantsRevoked };
}

/**
 * Ends every sign-in session of an account but one (the browser asking), as endSignInSession does. The
 * sessions are read first: they are the account's, so few.
 */
export async function endOtherSignInSessions(store: Store, accountId: string, keepStoredId: string | undefined): Promise<SignInSessionsEnded> {
  const filter: Filter = keepStoredId === undefined ? { accountId } : { accountId, _id: { $ne: keepStoredId } };
  return endSessions(store, accountId, await store.collection<OidcDocument>(collectionName('Session')).find(filter));
}
