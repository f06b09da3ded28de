import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError } from '../store/index.js';
import type { ClientRegistry, NewClient } from './index.js';
import { verifyClientSecret } from './secret-hash.js';

export interface InternalClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * An internal client's secret is derived from the master key, never stored in clear or shown: every
 * instance derives the same value, nobody outside the server can, so the client cannot be used from outside.
 */
export function internalClientSecret(secrets: ServerSecrets, clientId: string): string {
  return secrets.keyedHash('internal-client-secret', clientId).split('.')[1] ?? '';
}

/**
 * Creates a client the server itself uses (the Generate Token API's, the dashboard's) when missing, keeps
 * its scopes and redirect URIs as configured, and re-creates it when its stored hash no longer matches the
 * derived secret (the master key was rotated, or someone replaced the secret).
 */
export async function ensureInternalClient(
  clients: ClientRegistry,
  secrets: ServerSecrets,
  definition: Omit<NewClient, 'secret' | 'authMethod'> & { clientId: string },
): Promise<InternalClientCredentials> {
  const { clientId } = definition;
  clients.markInternal(clientId);
  const clientSecret = internalClientSecret(secrets, clientId);
  const existing = await clients.find(clientId);
  const storedHash = existing?.client_secret;
  if (existing && typeof storedHash === 'string' && verifyClientSecret(secrets, storedHash, clientSecret)) {
    await clients.update(clientId, { scopes: definition.scopes, ...(definition.redirectUris ? { redirectUris: definition.redirectUris } : {}) });
    return { clientId, clientSecret };
  }
  if (existing) await clients.delete(clientId);
  await clients.create({ ...definition, authMethod: 'client_secret_post', secret: clientSecret }).catch((error: unknown) => {
    // Another instance starting at the same moment created it with the same derived secret.
    if (!(error instanceof DuplicateKeyError)) throw error;
  });
  return { clientId, clientSecret };
}
