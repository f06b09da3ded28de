import { createHash, generateKeyPairSync, randomUUID, type JsonWebKey } from 'node:crypto';

import type { ServerSecrets } from '../secrets/index.js';
import { DuplicateKeyError, type Store, type StoredDocument } from '../store/index.js';

export type SigningAlgorithm = 'RS256' | 'EdDSA' | 'ES256';
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256', 'RS256'];

export interface SigningKeyDocument extends StoredDocument {
  alg: SigningAlgorithm;
  publicJwk: JsonWebKey;
  /** The private JWK, AES-256-GCM encrypted with a key derived from the master key. */
  sealedPrivateJwk: string;
  createdAt: Date;
  /**
   * From this instant the key signs; before it, it is only published, so that every JWKS cache holds it by
   * the time a token names it. Absent on keys created active (the first key of an algorithm).
   */
  activatesAt?: Date;
  /**
   * When a successor starts signing. The document's `expiresAt` (retirement plus the longest token
   * lifetime) then removes the key from JWKS once no token it signed can still be valid.
   */
  retiresAt?: Date;
}

export const SIGNING_KEYS_COLLECTION = 'signing_keys';

/** ID tokens need RS256 (OpenID Connect's mandatory algorithm); access-token JWTs default to EdDSA. */
const REQUIRED_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'RS256'];

export type SigningKeyState = 'published' | 'signing' | 'retired';

/** What the admin API shows of a key: never key material beyond the public JWK. */
export interface SigningKeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  state: SigningKeyState;
  createdAt: Date;
  activatesAt: Date;
  retiresAt: Date | undefined;
  /** When the key leaves JWKS. */
  unpublishedAt: Date | undefined;
  publicJwk: JsonWebKey;
}

/** The keys as oidc-provider needs them at one instant. */
export interface SigningKeySet {
  /** Private JWKs for oidc-provider's keystore: each algorithm's signing key first, so it is the default choice. */
  privateJwks: JsonWebKey[];
  /** kid of the key that signs, per algorithm. */
  signingKid: Partial<Record<SigningAlgorithm, string>>;
  /** Changes whenever the published keys or the signing keys change. */
  version: string;
}

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

function activation(document: SigningKeyDocument): Date {
  return document.activatesAt ?? document.createdAt;
}

export async function createSigningKey(
  store: Store,
  secrets: ServerSecrets,
  alg: SigningAlgorithm,
  kid: string = randomUUID(),
  activatesAt?: Date,
): Promise<SigningKeyDocument> {
  const privateJwk = { ...generateJwk(alg), kid, alg, use: 'sig' };
  const document: SigningKeyDocument = {
    _id: kid,
    alg,
    publicJwk: publicPart(privateJwk),
    sealedPrivateJwk: secrets.encrypt('signing-key-encryption', JSON.stringify(privateJwk), kid),
    createdAt: new Date(),
  };
  if (activatesAt) document.activatesAt = activatesAt;
  await store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION).insert(document);
  return document;
}

/**
 * Creates the first key of every algorithm in use (RS256 and EdDSA always, plus those resource servers are
 * configured with), once, whichever instance gets there first.
 */
export async function ensureSigningKeys(store: Store, secrets: ServerSecrets, algorithmsInUse: SigningAlgorithm[] = []): Promise<void> {
  const collection = store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION);
  for (const alg of new Set([...REQUIRED_ALGORITHMS, ...algorithmsInUse])) {
    if ((await collection.count({ alg })) === 0) {
      // A fixed id for the first key means two instances starting together create one key, not two.
      await createSigningKey(store, secrets, alg, `initial-${alg}`).catch((error: unknown) => {
        if (!(error instanceof DuplicateKeyError)) throw error;
      });
    }
  }
}

export async function readSigningKeyDocuments(store: Store): Promise<SigningKeyDocument[]> {
  return store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION).find({}, { sort: { createdAt: -1 } });
}

/** Per algorithm, the newest key whose activation has come: the one that signs now. */
function signingKids(documents: SigningKeyDocument[], now: Date): Partial<Record<SigningAlgorithm, string>> {
  const chosen: Partial<Record<SigningAlgorithm, SigningKeyDocument>> = {};
  for (const document of documents) {
    if (activation(document) > now) continue;
    const current = chosen[document.alg];
    if (!current || activation(document) > activation(current)) chosen[document.alg] = document;
  }
  return Object.fromEntries(Object.entries(chosen).map(([alg, document]) => [alg, document._id]));
}

/** A cheap fingerprint of what is published and what signs, to decide whether the provider needs rebuilding. */
export function signingKeySetVersion(documents: SigningKeyDocument[], now: Date = new Date()): string {
  const published = documents.map((document) => document._id).sort();
  return createHash('sha256').update(JSON.stringify({ published, signing: signingKids(documents, now) })).digest('base64url');
}

/** Decrypts the stored keys into what oidc-provider's `jwks` option takes. */
export function openSigningKeySet(documents: SigningKeyDocument[], secrets: ServerSecrets, now: Date = new Date()): SigningKeySet {
  const signingKid = signingKids(documents, now);
  const signing = new Set(Object.values(signingKid));
  const ordered = [...documents].sort((a, b) => Number(signing.has(b._id)) - Number(signing.has(a._id)));
  return {
    privateJwks: ordered.map(
      (document) => JSON.parse(secrets.decrypt('signing-key-encryption', document.sealedPrivateJwk, document._id).toString()) as JsonWebKey,
    ),
    signingKid,
    version: signingKeySetVersion(documents, now),
  };
}

/**
 * The signing keys, generated on first start and kept in the store with private parts encrypted, so every
 * instance signs with the same keys and they survive restarts wherever the data does.
 */
export async function loadSigningKeys(store: Store, secrets: ServerSecrets, algorithmsInUse: SigningAlgorithm[] = []): Promise<SigningKeySet> {
  await ensureSigningKeys(store, secrets, algorithmsInUse);
  return openSigningKeySet(await readSigningKeyDocuments(store), secrets);
}

export interface RotationTiming {
  /** Seconds between publishing the new key and its first signature; longer than any JWKS cache. */
  publishDelaySeconds: number;
  /** The longest lifetime of a token the old key signed: it stays published that long after retiring. */
  longestTokenLifetimeSeconds: number;
}

/**
 * Starts a rotation for one algorithm: the new key is published now and signs after the publish delay; the
 * keys it replaces stop signing then and leave JWKS once every token they signed has expired.
 */
export async function rotateSigningKey(
  store: Store,
  secrets: ServerSecrets,
  alg: SigningAlgorithm,
  timing: RotationTiming,
  now: Date = new Date(),
): Promise<SigningKeyInfo> {
  const collection = store.collection<SigningKeyDocument>(SIGNING_KEYS_COLLECTION);
  const activatesAt = new Date(now.getTime() + timing.publishDelaySeconds * 1000);
  const predecessors = await collection.find({ alg, retiresAt: { $exists: false } });
  const created = await createSigningKey(store, secrets, alg, randomUUID(), activatesAt);
  const unpublishedAt = new Date(activatesAt.getTime() + timing.longestTokenLifetimeSeconds * 1000);
  for (const predecessor of predecessors) {
    // Conditional, so two rotations racing keep the earlier retirement.
    await collection.updateOne(
      { _id: predecessor._id, retiresAt: { $exists: false } },
      { $set: { retiresAt: activatesAt, expiresAt: unpublishedAt } },
    );
  }
  return describeKey(created, signingKids([...predecessors, created], now), now);
}

function describeKey(document: SigningKeyDocument, signing: Partial<Record<SigningAlgorithm, string>>, now: Date): SigningKeyInfo {
  const state: SigningKeyState =
    signing[document.alg] === document._id ? 'signing' : activation(document) > now ? 'published' : 'retired';
  return {
    kid: document._id,
    alg: document.alg,
    state,
    createdAt: document.createdAt,
    activatesAt: activation(document),
    retiresAt: document.retiresAt,
    unpublishedAt: document.expiresAt,
    publicJwk: document.publicJwk,
  };
}

/** Every published key with its lifecycle state, for the admin API. */
export async function listSigningKeys(store: Store, now: Date = new Date()): Promise<SigningKeyInfo[]> {
  const documents = await readSigningKeyDocuments(store);
  const signing = signingKids(documents, now);
  return documents.map((document) => describeKey(document, signing, now));
}
