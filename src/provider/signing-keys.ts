import { generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';

export type SigningAlgorithm = 'RS256' | 'EdDSA' | 'ES256';

export interface SigningKeyDocument extends StoredDocument {
  alg: SigningAlgorithm;
  publicJwk: JsonWebKey;
  /** The private JWK, AES-256-GCM encrypted with a key derived from the master key. */
  sealedPrivateJwk: string;
  createdAt: Date;
}

export const SIGNING_KEYS_COLLECTION = 'signing_keys';

/** ID tokens need RS256 (OpenID Connect's mandatory algorithm); access-token JWTs default to EdDSA. */
const REQUIRED_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'RS256'];

function generateJwk(alg: SigningAlgorithm): JsonWebKey {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'jwk' });
}

function publicPart(jwk: JsonWebKey): JsonWebKey {
  const publicJwk: JsonWebKey = { ...jwk };
  for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) delete publicJwk[privateMember];
  return publicJwk;
}

export async function createSigningKey(store: Store, secrets: ServerSecrets, alg: SigningAlgorithm, kid: string = randomUUID()): Promise<void> {
  const privateJwk = { ...generateJwk(alg), kid, alg, use: 'sig' };
  await store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION).insert({
    _id: kid,
    alg,
    publicJwk: publicPart(privateJwk),
    sealedPrivateJwk: secrets.encrypt('signing-key-encryption', JSON.stringify(privateJwk), kid),
    createdAt: new Date(),
  });
}

/**
 * The signing keys, generated on first start and kept in the store with private parts encrypted, so every
 * instance signs with the same keys and they survive restarts wherever the data does.
 */
export async function loadSigningKeys(store: Store, secrets: ServerSecrets): Promise<JsonWebKey[]> {
  const collection = store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION);
  for (const alg of REQUIRED_ALGORITHMS) {
    if ((await collection.count({ alg })) === 0) {
      // A fixed id for the first key means two instances starting together create one key, not two.
      await createSigningKey(store, secrets, alg, `initial-${alg}`).catch((error: unknown) => {
        if (!(error instanceof DuplicateKeyError)) throw error;
      });
    }
  }
  const documents = await collection.find({}, { sort: { createdAt: -1 } });
  return documents.map((document) =>
    JSON.parse(secrets.decrypt('signing-key-encryption', document.sealedPrivateJwk, document._id).toString()) as JsonWebKey,
  );
}
