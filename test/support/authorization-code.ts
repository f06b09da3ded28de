import { randomBytes } from 'node:crypto';

import type { Application } from '../../src/app.js';
import type { Provider } from '../../src/provider/index.js';

export const DEMO_REDIRECT_URI = 'https://app.example.test/callback';

/**
 * Mints an authorization code with oidc-provider's own Grant and AuthorizationCode models, as its
 * authorization endpoint would after a finished login. Returns the code value a client would receive.
 */
export async function issueAuthorizationCode(
  provider: Provider,
  options: { clientId: string; codeChallenge: string; accountId: string; redirectUri?: string; scope?: string },
): Promise<string> {
  const { accountId } = options;
  const grant = new provider.Grant({ accountId, clientId: options.clientId });
  const scope = options.scope ?? 'openid';
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const client = await provider.Client.find(options.clientId);
  if (!client) throw new Error(`no client ${options.clientId}`);
  const code = new provider.AuthorizationCode({
    accountId,
    client,
    grantId,
    redirectUri: options.redirectUri ?? DEMO_REDIRECT_URI,
    scope,
    codeChallenge: options.codeChallenge,
    codeChallengeMethod: 'S256',
    authTime: Math.floor(Date.now() / 1000),
    gty: 'authorization_code',
  });
  return code.save();
}

/** A real, active account (the token endpoint loads the account a code was issued to). */
export async function createTestAccount(application: Application): Promise<string> {
  const account = await application.accounts.create({
    email: `person-${randomBytes(4).toString('hex')}@example.com`,
    password: 'correct horse battery staple',
  });
  return account.customerId;
}
