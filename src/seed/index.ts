import type { Application } from '../app.js';
import { generateSecret } from 'otplib';

import type { Config } from '../config/index.js';

export interface SeedResult {
  /** Lines for the terminal (never the structured log): they contain development credentials. */
  banner: string[];
}

/**
 * Development data, planted only when configuration allows it (never in production, on a persistent
 * store only with DEMO_SEED=true): the demo clients when the store does not hold demo-client, the demo user
 * when no account has its email.
 */
export async function seedDemoData(config: Config, application: Application): Promise<SeedResult> {
  if (!config.demo.enabled) return { banner: [] };
  const banner: string[] = [];
  const { clientId, clientSecret, redirectUri } = config.demo;
  // By id, not "no client at all": the internal authtoken-compat client exists from the first start.
  if (!(await application.clients.find(clientId))) {
    await application.clients.create({
      clientId,
      name: 'Demo client',
      grantTypes: ['client_credentials', 'authorization_code', 'refresh_token'],
      scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
      redirectUris: [redirectUri],
      secret: clientSecret,
      passwordGrant: true,
    });
    await application.clients.create({
      clientId: 'demo-app',
      name: 'Demo app',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
      redirectUris: [redirectUri],
      authMethod: 'none',
    });
    banner.push(
      '',
      'Development seed created (never in production):',
      `  confidential client  ${clientId} / ${clientSecret}  scopes: api:read api:write (client credentials, password grant, code flow)`,
      `  public client        demo-app (PKCE S256)  redirect URI: ${redirectUri}`,
      '',
      'Get an AuthToken:',
      `  curl -s -u '${clientId}:${clientSecret}' -d grant_type=client_credentials -d 'scope=api:read' ${config.issuer}/token`,
    );
  }
  banner.push(...(await seedDemoUser(config, application)), '');
  return { banner };
}

async function seedDemoUser(config: Config, application: Application): Promise<string[]> {
  const { userEmail, userPassword, customerId } = config.demo;
  if (await application.accounts.findByEmail(userEmail)) return [];
  // The well-known demo password skips the policy (it is the one account allowed to): 'demo-password' is
  // 13 characters and not in the bundled breached list today, but an override need not pass either.
  const account = await application.accounts.create({
    email: userEmail,
    password: userPassword,
    roles: ['developer'],
    skipPasswordPolicy: true,
    ...(customerId ? { customerId } : {}),
  });
  const { clientId, clientSecret } = config.demo;
  if (!config.demo.userTotp) {
    return ['', `  demo user  ${userEmail} / ${userPassword}  customer id: ${account.customerId}  (no second factor: DEMO_USER_TOTP=false)`];
  }
  const totpSecret = config.demo.totpSecret ?? generateSecret();
  await application.mfa.totp.install(account.customerId, totpSecret);
  return [
    '',
    `  demo user  ${userEmail} / ${userPassword}  customer id: ${account.customerId}`,
    `  TOTP secret (base32): ${totpSecret}`,
    `  otpauth URI: ${application.mfa.totp.uri(userEmail, totpSecret)}`,
    '',
    'Password grant with the second factor in one request (code from your authenticator app):',
    `  curl -s -u '${clientId}:${clientSecret}' -d grant_type=password -d 'username=${userEmail}' -d 'password=${userPassword}' -d otp=123456 -d 'scope=api:read' ${config.issuer}/token`,
  ];
}
