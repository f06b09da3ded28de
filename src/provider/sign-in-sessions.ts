import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { requestOrigin, type RequestOrigin } from '../audit/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import type { Filter, Store } from '../store/index.js';
import { collectionName, hashedIdCandidates, type OidcDocument } from './adapter.js';
import { afterProviderAnswers } from './after-answer.js';

/** oidc-provider's default name for its session cookie (we do not configure `cookies.names`). */
const SIGN_IN_SESSION_COOKIE = '_session';

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
}

/** Told when a browser signs in, or comes back with its session; implementations keep it cheap. */
export interface SessionActivityRecorder {
  signedIn(session: { uid: string; accountId: string; signedInAt: Date }, origin: RequestOrigin): Promise<void>;
  seen(session: { uid: string; accountId: string }, origin: RequestOrigin): Promise<void>;
}

interface SessionPayload {
  loginTs?: number;
}

/**
 * Reports sign-ins and returning browsers to the recorder, after the provider has answered (and saved the
 * session): only then is the session's uid known for a browser that had none. Only the authorization and
 * resume routes are looked at.
 */
export function trackSessionActivity(provider: Provider, recorder: SessionActivityRecorder, onError: (error: unknown) => void): void {
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

function toSignInSession(document: OidcDocument): SignInSession | undefined {
  if (!document.accountId || !document.uid) return undefined;
  const payload = JSON.parse(document.data) as SessionPayload;
  return {
    storedId: document._id,
    uid: document.uid,
    accountId: document.accountId,
    signedInAt: payload.loginTs !== undefined ? new Date(payload.loginTs * 1000) : undefined,
    expiresAt: document.expiresAt,
  };
}

/** The provider's sign-in sessions of an account (those with a login; the store keeps accountId beside each). */
export async function signInSessionsOf(store: Store, accountId: string, limit: number): Promise<SignInSession[]> {
  const documents = await store.collection<OidcDocument>(collectionName('Session')).find({ accountId }, { sort: { createdAt: -1 }, limit });
  return documents.flatMap((document) => toSignInSession(document) ?? []);
}

/** The sign-in session of the browser making this request, if it has one. */
export async function signInSessionOfRequest(ctx: Context, store: Store, secrets: ServerSecrets): Promise<SignInSession | undefined> {
  // Signed with the app's keys, which are the provider's cookie keys (see app.ts).
  const sessionId = ctx.cookies.get(SIGN_IN_SESSION_COOKIE, { signed: true });
  if (!sessionId || sessionId.length > 128) return undefined;
  const document = await store.collection<OidcDocument>(collectionName('Session')).findOne({ _id: { $in: hashedIdCandidates(secrets, sessionId) } });
  return document ? toSignInSession(document) : undefined;
}

/**
 * Ends one sign-in session of an account: the browser holding it is signed out (its next authorization
 * request, prompt=none included, finds no session and answers login_required). Undefined when not the account's.
 */
export async function endSignInSession(store: Store, accountId: string, storedId: string): Promise<SignInSession | undefined> {
  const sessions = store.collection<OidcDocument>(collectionName('Session'));
  const document = await sessions.findOne({ _id: storedId, accountId });
  if (!document || (await sessions.deleteMany({ _id: storedId, accountId })) === 0) return undefined;
  return toSignInSession(document);
}

/** Ends every sign-in session of an account but one (the browser asking); returns how many ended. */
export async function endOtherSignInSessions(store: Store, accountId: string, keepStoredId: string | undefined): Promise<number> {
  const filter: Filter = keepStoredId === undefined ? { accountId } : { accountId, _id: { $ne: keepStoredId } };
  return store.collection(collectionName('Session')).deleteMany(filter);
}
