import type { Application } from '../app.js';
import type { Config } from '../config/index.js';

export interface SeedResult {
  /** Lines for the terminal (never the structured log): they contain development credentials. */
  banner: string[];
}

/**
 * Development data, planted only when configuration allows it (never in production, on a persistent
 * store only with DEMO_SEED=true) and only into a store holding no client at all.
 */
export async function seedDemoData(config: Config, application: Application): Promise<SeedResult> {
  if (!config.demo.enabled) return { banner: [] };
  if ((await application.clients.count()) > 0) return { banner: [] };
  const { clientId, clientSecret, redirectUri } = config.demo;
  await application.clients.create({
    clientId,
    name: 'Demo client',
    grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    redirectUris: [redirectUri],
    secret: clientSecret,
  });
  await application.clients.create({
    clientId: 'demo-app',
    name: 'Demo app',
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    redirectUris: [redirectUri],
    authMethod: 'none',
  });
  return {
    banner: [
      '',
      'Development seed created (never in production):',
      `  confidential client  ${clientId} / ${clientSecret}  scopes: api:read api:write (client credentials, code flow)`,
      `  public client        demo-app (PKCE S256)  redirect URI: ${redirectUri}`,
      '',
      'Get an AuthToken:',
      `  curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials -d 'scope=api:read' ${config.issuer}/token`,
      '',
    ],
  };
}
