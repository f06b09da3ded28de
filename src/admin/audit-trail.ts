import type { Context } from 'koa';

import { requestOrigin, type AuditEventInput, type AuditLog } from '../audit/index.js';

/** Records an operator's action with where it came from (ctx.ip honours TRUST_PROXY). Never secrets. */
export async function recordAdminAction(
  ctx: Context,
  audit: AuditLog,
  event: Omit<AuditEventInput, 'actor' | 'ip' | 'userAgent' | 'outcome'> & { outcome?: AuditEventInput['outcome'] },
): Promise<void> {
  await audit.record({
    ...event,
    outcome: event.outcome ?? 'success',
    actor: { type: 'admin' },
    ...requestOrigin(ctx),
  });
}
