import { DEMO, type TestServer } from './server.js';

/**
 * A password grant (demo client, scope api:read) arriving through proxies that sent this X-Forwarded-For: with
 * TRUST_PROXY on, the server takes the client address from it. Returns the status.
 */
export async function passwordGrantVia(server: TestServer, forwardedFor: string, username: string, password: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${DEMO.id}:${DEMO.secret}`).toString('base64')}`,
      'x-forwarded-for': forwardedFor,
    },
    body: new URLSearchParams({ grant_type: 'password', username, password, scope: 'api:read' }).toString(),
  });
  await response.arrayBuffer();
  return response.status;
}

export interface UserGrantOptions {
  accountId: string;
  clientId: string;
  /** Scopes granted: OpenID scopes and API scopes of `resource`. */
  openIdScopes?: string;
  apiScopes?: string;
  resource?: string;
  amr?: string[];
}

/**
 * Stands in for the sign-in step that is not built yet (login pages, password grant): records a grant and a
 * refresh token for a user through oidc-provider's own models, exactly what a completed authorization-code
 * flow persists. Everything after it (refresh, rotation, introspection, revocation) goes through HTTP.
 */
export async function grantRefreshTokenForUser(server: TestServer, options: UserGrantOptions): Promise<{ refreshToken: string; grantId: string }> {
  const provider = server.application.provider;
  const client = await provider.Client.find(options.clientId);
  if (!client) throw new Error(`no client ${options.clientId}`);
  const openIdScopes = options.openIdScopes ?? 'openid offline_access';
  const grant = new provider.Grant({ accountId: options.accountId, clientId: options.clientId });
  grant.addOIDCScope(openIdScopes);
  if (options.resource && options.apiScopes) grant.addResourceScope(options.resource, options.apiScopes);
  const grantId = await grant.save();
  const refreshToken = new provider.RefreshToken({
    accountId: options.accountId,
    client,
    grantId,
    gty: 'authorization_code',
    scope: [openIdScopes, options.apiScopes].filter(Boolean).join(' '),
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.amr ? { amr: options.amr } : {}),
  });
  return { refreshToken: await refreshToken.save(), grantId };
}
