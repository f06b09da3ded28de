import Router from '@koa/router';

import type { AuditEvent, AuditLog } from '../../audit/index.js';
import { auditQuery } from '../schemas.js';
import { parseQuery } from '../validation.js';

export function auditEventJson(event: AuditEvent) {
  return {
    id: event._id,
    at: new Date(event.at).toISOString(),
    action: event.action,
    outcome: event.outcome,
    actor: event.actor,
    ...(event.accountId ? { account_id: event.accountId } : {}),
    ...(event.clientId ? { client_id: event.clientId } : {}),
    ...(event.ip ? { ip: event.ip } : {}),
    ...(event.userAgent ? { user_agent: event.userAgent } : {}),
    ...(event.details ? { details: event.details } : {}),
  };
}

/** Audit events, newest first, filtered by action, client, account and time. */
export function auditRoutes(deps: { audit: AuditLog }): Router {
  const router = new Router();
  router.get('/audit-events', async (ctx) => {
    const query = parseQuery(ctx, auditQuery);
    const events = await deps.audit.list({
      limit: query.limit,
      ...(query.action ? { action: query.action } : {}),
      ...(query.client_id ? { clientId: query.client_id } : {}),
      ...(query.account_id ? { accountId: query.account_id } : {}),
      ...(query.before ? { before: new Date(query.before) } : {}),
    });
    ctx.body = events.map(auditEventJson);
  });
  return router;
}
