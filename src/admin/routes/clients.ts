import Router from '@koa/router';

import type { AuditLog } from '../../audit/index.js';
import type { ClientRegistry, ClientView } from '../../clients/index.js';
import type { BulkRevocation } from '../../tokens/index.js';
import { recordAdminAction } from '../audit-trail.js';
import { AdminApiError, notFound } from '../errors.js';
import { clientIdPattern, createClientRequest, pageQuery, rotateSecretRequest, updateClientRequest } from '../schemas.js';
import { parseBody, parseQuery } from '../validation.js';

export function clientJson(client: ClientView) {
  return {
    client_id: client.clientId,
    name: client.name,
    application_type: client.applicationType,
    grant_types: client.grantTypes,
    scopes: client.scopes,
    unknown_scopes: client.unknownScopes,
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: client.authMethod,
    ...(client.jwks ? { jwks: client.jwks } : {}),
    password_grant: client.passwordGrant,
    mfa_required: client.mfaRequired,
    resource_server_audiences: client.resourceServerAudiences,
    roles: client.roles,
    web_origins: client.webOrigins,
    created_at: client.createdAt.toISOString(),
  };
}

function clientIdParam(value: string | undefined): string {
  // An id that cannot exist is simply not found; it never reaches the store.
  if (!value || !clientIdPattern.test(value)) throw notFound('client');
  return value;
}

/** Clients: create (secret shown once), list, get, update, delete, rotate secret, revoke all tokens. */
export function clientRoutes(deps: { clients: ClientRegistry; audit: AuditLog; revocation: BulkRevocation }): Router {
  const { clients, audit, revocation } = deps;
  const router = new Router();

  /** A client the operator may change: it exists here as an id, and the server does not define it itself. */
  const changeableClientId = (value: string | undefined): string => {
    const clientId = clientIdParam(value);
    if (clients.isInternal(clientId)) {
      throw new AdminApiError(409, 'conflict', `${clientId} is an internal client defined by the server; it is recreated as defined at every start, so it cannot be changed here (its tokens can be revoked)`);
    }
    return clientId;
  };

  router.post('/clients', async (ctx) => {
    const body = parseBody(ctx, createClientRequest);
    const created = await clients.create({
      ...(body.client_id ? { clientId: body.client_id } : {}),
      name: body.name,
      applicationType: body.application_type,
      grantTypes: body.grant_types,
      scopes: body.scopes,
      redirectUris: body.redirect_uris,
      ...(body.token_endpoint_auth_method ? { authMethod: body.token_endpoint_auth_method } : {}),
      ...(body.jwks ? { jwks: body.jwks as { keys: Record<string, unknown>[] } } : {}),
      passwordGrant: body.password_grant,
      mfaRequired: body.mfa_required,
      ...(body.resource_server_audiences ? { resourceServerAudiences: body.resource_server_audiences } : {}),
      ...(body.roles ? { roles: body.roles } : {}),
      ...(body.web_origins ? { webOrigins: body.web_origins } : {}),
    });
    const view = await clients.get(created.clientId);
    if (!view) throw notFound('client');
    const details = {
      application_type: body.application_type,
      grant_types: body.grant_types,
      scopes: body.scopes,
      // What the client may see (other clients' tokens) or claim (roles) beyond its own scopes.
      ...(body.resource_server_audiences ? { resource_server_audiences: body.resource_server_audiences } : {}),
      ...(body.roles ? { roles: body.roles } : {}),
    };
    await recordAdminAction(ctx, audit, { action: 'admin.client.created', clientId: created.clientId, details });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ...clientJson(view), ...(created.clientSecret ? { client_secret: created.clientSecret } : {}) };
  });

  router.get('/clients', async (ctx) => {
    const { limit, offset } = parseQuery(ctx, pageQuery);
    ctx.body = (await clients.list({ limit, skip: offset })).map(clientJson);
  });

  router.get('/clients/:clientId', async (ctx) => {
    const client = await clients.get(clientIdParam(ctx.params.clientId));
    if (!client) throw notFound('client');
    ctx.body = clientJson(client);
  });

  router.patch('/clients/:clientId', async (ctx) => {
    const clientId = changeableClientId(ctx.params.clientId);
    const body = parseBody(ctx, updateClientRequest);
    const updated = await clients.update(clientId, {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.grant_types !== undefined ? { grantTypes: body.grant_types } : {}),
      ...(body.scopes !== undefined ? { scopes: body.scopes } : {}),
      ...(body.redirect_uris !== undefined ? { redirectUris: body.redirect_uris } : {}),
      ...(body.password_grant !== undefined ? { passwordGrant: body.password_grant } : {}),
      ...(body.mfa_required !== undefined ? { mfaRequired: body.mfa_required } : {}),
      ...(body.jwks !== undefined ? { jwks: body.jwks } : {}),
      ...(body.resource_server_audiences !== undefined ? { resourceServerAudiences: body.resource_server_audiences } : {}),
      ...(body.roles !== undefined ? { roles: body.roles } : {}),
      ...(body.web_origins !== undefined ? { webOrigins: body.web_origins } : {}),
    });
    if (!updated) throw notFound('client');
    await recordAdminAction(ctx, audit, { action: 'admin.client.updated', clientId, details: { fields: Object.keys(body).filter((key) => body[key as keyof typeof body] !== undefined) } });
    ctx.body = clientJson(updated);
  });

  router.delete('/clients/:clientId', async (ctx) => {
    const clientId = changeableClientId(ctx.params.clientId);
    if (!(await clients.delete(clientId))) throw notFound('client');
    // A deleted client's tokens go with it (JWTs through a "revoked before" time), so none outlives it.
    const { removed } = await revocation.revokeClientTokens(clientId);
    await recordAdminAction(ctx, audit, { action: 'admin.client.deleted', clientId, details: { revoked_records: removed } });
    ctx.status = 204;
  });

  router.post('/clients/:clientId/secret', async (ctx) => {
    const clientId = changeableClientId(ctx.params.clientId);
    const { grace_seconds: graceSeconds } = parseBody(ctx, rotateSecretRequest);
    // Without grace the old secret stops at once (a leak); with it, partners get time to deploy the new one.
    const rotated: { clientSecret: string; previousValidUntil?: Date } | 'no-secret' | undefined =
      graceSeconds > 0 ? await clients.rotateSecretWithGrace(clientId, graceSeconds) : await clients.rotateSecret(clientId);
    if (!rotated) throw notFound('client');
    if (rotated === 'no-secret') throw new AdminApiError(409, 'conflict', 'this client authenticates without a client secret');
    const previousValidUntil = rotated.previousValidUntil?.toISOString();
    await recordAdminAction(ctx, audit, { action: 'admin.client.secret_rotated', clientId, details: { grace_seconds: graceSeconds } });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { client_id: clientId, client_secret: rotated.clientSecret, ...(previousValidUntil ? { previous_secret_valid_until: previousValidUntil } : {}) };
  });

  router.post('/clients/:clientId/revoke-tokens', async (ctx) => {
    const clientId = clientIdParam(ctx.params.clientId);
    if (!(await clients.get(clientId))) throw notFound('client');
    // Stored tokens are deleted (and counted); JWTs issued before now are refused at introspection.
    const { removed } = await revocation.revokeClientTokens(clientId);
    await recordAdminAction(ctx, audit, { action: 'admin.client.tokens_revoked', clientId, details: { revoked_records: removed } });
    ctx.body = { client_id: clientId, revoked_records: removed, jwt_access_tokens: 'revoked' };
  });

  return router;
}
