import type { Context } from 'koa';

import type { AuditEventInput, AuditLog } from '../audit/index.js';

/** Records an operator's action with where it came from (ctx.ip honours TRUST_PROXY). Never secrets. */
export async function recordAdminAction(
  ctx: Context,
  audit: AuditLog,
  event: Omit<AuditEventInput, 'actor' | 'ip' | 'userAgent' | 'outcome'> & { outcome?: AuditEventInput['outcome'] },
): Promise<void> {
  const userAgent = ctx.get('user-agent').slice(0, 200);
  await audit.record({
    ...event,
    outcome: event.outcome ?? 'success',
    actor: { type: 'admin' },
    ip: ctx.ip,
    ...(userAgent ? { userAgent } : {}),
  });
}
