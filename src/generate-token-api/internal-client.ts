import { verifyClientSecret, type ClientRegistry } from '../clients/index.js';
import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError } from '../store/index.js';

/** The one client every Generate Token API token is issued to (its tokens are ordinary AuthTokens). */
export const COMPAT_CLIENT_ID = 'authtoken-compat';

export interface InternalClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * The internal client's secret is derived from the master key, never stored or shown: every instance
 * derives the same value, nobody outside the server can, so the client cannot be used from outside.
 */
export function internalClientSecret(secrets: ServerSecrets): string {
  return secrets.keyedHash('internal-client-secret', COMPAT_CLIENT_ID).split('.')[1] ?? '';
}

/**
 * Creates `authtoken-compat` when missing (password grant on, client_secret_post, the given scopes), and
 * re-creates it when its stored hash no longer matches the derived secret (the master key was rotated, or
 * someone replaced the secret).
 */
export async function ensureCompatClient(clients: ClientRegistry, secrets: ServerSecrets, scopes: string[]): Promise<InternalClientCredentials> {
  const clientSecret = internalClientSecret(secrets);
  const existing = await clients.find(COMPAT_CLIENT_ID);
  const storedHash = existing?.client_secret;
  if (existing && typeof storedHash === 'string' && verifyClientSecret(secrets, storedHash, clientSecret)) {
    await clients.update(COMPAT_CLIENT_ID, { scopes });
    return { clientId: COMPAT_CLIENT_ID, clientSecret };
  }
  if (existing) await clients.delete(COMPAT_CLIENT_ID);
  await clients
    .create({
      clientId: COMPAT_CLIENT_ID,
      name: 'Generate Token API (internal)',
      grantTypes: ['password'],
      scopes,
      authMethod: 'client_secret_post',
      secret: clientSecret,
      passwordGrant: true,
    })
    .catch((error: unknown) => {
      // Another instance starting at the same moment created it with the same derived secret.
      if (!(error instanceof DuplicateKeyError)) throw error;
    });
  return { clientId: COMPAT_CLIENT_ID, clientSecret };
}
