import { randomUUID } from 'node:crypto';

import type { Store, StoredDocument } from '../store/index.js';

export const AUDIT_COLLECTION = 'audit_events';

/** Longest user agent kept in an audit event (or a session record): enough to recognise a device. */
export const USER_AGENT_MAX_LENGTH = 200;

/** Where a request came from: the client IP and, when it sent one, its user agent (truncated). */
export interface RequestOrigin {
  ip: string;
  userAgent?: string;
}

/** Where a request came from, for an audit event: the client IP (honours TRUST_PROXY) and user agent. */
export function requestOrigin(ctx: { ip: string; get(header: string): string }): RequestOrigin {
  const userAgent = ctx.get('user-agent').slice(0, USER_AGENT_MAX_LENGTH);
  return userAgent ? { ip: ctx.ip, userAgent } : { ip: ctx.ip };
}

/** Who did it: a user (accountId), a client, an operator (admin API), or the system itself. */
export interface AuditActor {
  type: 'user' | 'client' | 'admin' | 'system';
  id?: string;
}

export interface AuditEventInput {
  /** Dotted event name, e.g. `signin.success`, `mfa.enrolled`, `token.revoked`, `admin.client.created`. */
  action: string;
  actor: AuditActor;
  /** The account the event concerns, when there is one (lets a user's audit view find it). */
  accountId?: string;
  clientId?: string;
  outcome: 'success' | 'failure';
  ip?: string;
  userAgent?: string;
  /** Non-secret details only: never passwords, codes, tokens or secrets. */
  details?: Record<string, string | number | boolean | string[]>;
}

export interface AuditEvent extends StoredDocument, AuditEventInput {
  at: Date;
}

export interface AuditQuery {
  accountId?: string;
  clientId?: string;
  action?: string;
  limit?: number;
  before?: Date;
}

/** The append-only audit trail: who did what, when, from where. */
export class AuditLog {
  constructor(private readonly store: Store) {}

  async ensureIndexes(): Promise<void> {
    await this.store.ensureIndexes(AUDIT_COLLECTION, [
      { fields: { at: -1 } },
      { fields: { accountId: 1, at: -1 } },
      { fields: { clientId: 1, at: -1 } },
      { fields: { action: 1, at: -1 } },
    ]);
  }

  async record(event: AuditEventInput): Promise<void> {
    await this.store.collection<AuditEvent>(AUDIT_COLLECTION).insert({ _id: randomUUID(), at: new Date(), ...event });
  }

  async list(query: AuditQuery = {}): Promise<AuditEvent[]> {
    const filter: Record<string, string | { $lt: Date }> = {};
    if (query.accountId) filter.accountId = query.accountId;
    if (query.clientId) filter.clientId = query.clientId;
    if (query.action) filter.action = query.action;
    if (query.before) filter.at = { $lt: query.before };
    return this.store.collection<AuditEvent>(AUDIT_COLLECTION).find(filter, { sort: { at: -1 }, limit: Math.min(query.limit ?? 50, 500) });
  }
}
