import type { RequestOrigin } from '../audit/index.js';
import type { SessionActivityRecorder } from '../provider/index.js';
import type { Store, StoredDocument } from '../store/index.js';

export const SESSION_DEVICES_COLLECTION = 'session_devices';

/**
 * How long a device record outlives its last sighting: longer than a provider session can live (14 days),
 * so a live session always has its record; a record whose session ended is swept with it or after this.
 */
const DEVICE_RECORD_TTL_SECONDS = 30 * 86400;

/** Where and when a provider sign-in session was used: what oidc-provider's Session does not keep. */
export interface SessionDevice {
  ip: string;
  userAgent: string;
  signedInAt: Date;
  lastSeenAt: Date;
}

interface DeviceDocument extends StoredDocument {
  accountId: string;
  ip: string;
  userAgent: string;
  signedInAt: Date;
  lastSeenAt: Date;
}

/**
 * The device records of the provider's sign-in sessions, keyed by session uid (which survives the id
 * renewal at each login). Written at sign-in; "last seen" is then moved on at most once per interval with one
 * conditional update, so a browser going through /auth often costs a lookup, not a write, per request.
 */
export class SessionDevices implements SessionActivityRecorder {
  constructor(
    private readonly store: Store,
    private readonly lastSeenIntervalSeconds: number,
  ) {}

  get #collection() {
    return this.store.collection<DeviceDocument>(SESSION_DEVICES_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(SESSION_DEVICES_COLLECTION, [{ fields: { accountId: 1 } }]);
  }

  async signedIn(session: { uid: string; accountId: string; signedInAt: Date }, origin: RequestOrigin): Promise<void> {
    const now = new Date();
    await this.#collection.replace({
      _id: session.uid,
      accountId: session.accountId,
      ip: origin.ip,
      userAgent: origin.userAgent ?? '',
      signedInAt: session.signedInAt,
      lastSeenAt: now,
      expiresAt: expiryFrom(now),
    });
  }

  async seen(session: { uid: string; accountId: string }, origin: RequestOrigin): Promise<void> {
    const now = new Date();
    await this.#collection.updateOne(
      { _id: session.uid, accountId: session.accountId, lastSeenAt: { $lt: new Date(now.getTime() - this.lastSeenIntervalSeconds * 1000) } },
      { $set: { lastSeenAt: now, ip: origin.ip, userAgent: origin.userAgent ?? '', expiresAt: expiryFrom(now) } },
    );
  }

  /** The records of the given sessions of an account, by session uid. */
  async of(accountId: string, uids: string[]): Promise<Map<string, SessionDevice>> {
    if (uids.length === 0) return new Map();
    const documents = await this.#collection.find({ accountId, _id: { $in: uids } });
    return new Map(documents.map((document) => [document._id, { ip: document.ip, userAgent: document.userAgent, signedInAt: document.signedInAt, lastSeenAt: document.lastSeenAt }]));
  }

  /** Forgets the record of an ended session. */
  async forget(uid: string): Promise<void> {
    await this.#collection.deleteMany({ _id: uid });
  }

  /** Forgets the records of an account's sessions but one (after "sign out all other sessions"). */
  async forgetOthersOf(accountId: string, keepUid: string | undefined): Promise<void> {
    await this.#collection.deleteMany(keepUid === undefined ? { accountId } : { accountId, _id: { $ne: keepUid } });
  }

  /** Forgets the records of every session of an account (its sessions were all ended). */
  async forgetAllOf(accountId: string): Promise<void> {
    await this.forgetOthersOf(accountId, undefined);
  }
}

function expiryFrom(now: Date): Date {
  return new Date(now.getTime() + DEVICE_RECORD_TTL_SECONDS * 1000);
}
