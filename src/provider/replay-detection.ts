import { hash } from 'node:crypto';

import type Provider from 'oidc-provider';

import type { ServerSecrets } from '../secrets/index.js';
import type { Store } from '../store/index.js';
import { StoreAdapter } from './adapter.js';

/**
 * oidc-provider remembers each client assertion's jti (private_key_jwt) and each DPoP proof's jti in
 * ReplayDetection records, checking with a find and then a save: copies of one assertion sent at once all
 * find nothing, and all pass (measured on MongoDB: two tokens for one assertion). Here the check is the write
 * itself, an insert that fails when the record exists. Same id and lifetime as oidc-provider's own
 * (lib/models/replay_detection.js), so records written either way are the same records.
 */
export function makeReplayDetectionAtomic(provider: Provider, store: Store, secrets: ServerSecrets): void {
  const records = new StoreAdapter('ReplayDetection', store, secrets);
  provider.ReplayDetection.unique = async (iss: string, jti: string, exp: number): Promise<boolean> => {
    const id = hash('sha256', `${iss}${jti}`, 'base64url');
    const now = Math.floor(Date.now() / 1000);
    // At least a second: a record must outlive the check that wrote it, even for an assertion about to expire.
    const lifetime = Math.max(exp - now, 1);
    return records.insertIfAbsent(id, { jti: id, iss, kind: 'ReplayDetection', iat: now, exp: now + lifetime }, lifetime);
  };
}
