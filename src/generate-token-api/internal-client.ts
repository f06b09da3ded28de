import { ensureInternalClient, type ClientRegistry, type InternalClientCredentials } from '../clients/index.js';
import type { ServerSecrets } from '../secrets/index.js';

/** The one client every Generate Token API token is issued to (its tokens are ordinary AuthTokens). */
export const COMPAT_CLIENT_ID = 'authtoken-compat';

/** `authtoken-compat`: password grant on, the given scopes, a secret only the server can derive. */
export function ensureCompatClient(clients: ClientRegistry, secrets: ServerSecrets, scopes: string[]): Promise<InternalClientCredentials> {
  return ensureInternalClient(clients, secrets, {
    clientId: COMPAT_CLIENT_ID,
    name: 'Generate Token API (internal)',
    grantTypes: ['password'],
    scopes,
    passwordGrant: true,
  });
}
