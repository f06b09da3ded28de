import { createHash } from 'node:crypto';

import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';

import { ExpiringCache } from './token-cache.js';

/**
 * Asymmetric JWS algorithms a DPoP proof may use (RFC 9449 4.3 step 5: never `none`, never a MAC). The
 * default accepts what our server advertises in `dpop_signing_alg_values_supported` (ES256, Ed25519, EdDSA)
 * and the RSA algorithms other clients commonly use.
 */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];
export const DEFAULT_DPOP_ALGORITHMS: readonly DpopAlgorithm[] = ['ES256', 'EdDSA', 'Ed25519', 'PS256', 'RS256'];

/** What the request must look like for the proof to be about it. */
export interface ProofExpectations {
  /** HTTP method of the request (RFC 9449 `htm`). */
  method: string;
  /** The request URL as the client addressed it, without query and fragment (compared with `htu`). */
  url: string;
  /** The access token presented with the proof (its hash must be `ath`). */
  accessToken: string;
}

export interface ProofPolicy {
  algorithms: readonly DpopAlgorithm[];
  /** How old `iat` may be, in seconds. */
  maxAgeSeconds: number;
  /** How far `iat` may be ahead of our clock, in seconds (clients' clocks drift). */
  futureSeconds: number;
}

/** A proof that passed every check of RFC 9449 4.3 that needs no state (the replay check needs the cache). */
export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, to compare with the token's `cnf.jkt`. */
  thumbprint: string;
  jti: string;
  /** Until when (ms since the epoch) the proof would still pass the `iat` check: its jti is kept that long. */
  acceptableUntil: number;
}

export type ProofCheck = ({ ok: true } & VerifiedProof) | { ok: false; description: string };

/** Far more than any real proof (a JWS with an RSA-4096 public key is about 1.5 KiB). */
const MAX_PROOF_LENGTH = 8192;
/** A jti is a random identifier; one longer than this is not a real client's. */
const MAX_JTI_LENGTH = 256;
/** JWK members that only a private (or symmetric) key has (RFC 7517/7518). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** base64url(SHA-256(access token)), the `ath` claim (RFC 9449 4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/**
 * Checks one DPoP proof (RFC 9449 4.3) against the request it came with. `proofs` is every value of the
 * `DPoP` header: exactly one is allowed. Descriptions name the failed check, never a value of the proof.
 */
export async function verifyDpopProof(
  proofs: readonly string[],
  expected: ProofExpectations,
  policy: ProofPolicy,
  now: number = Date.now(),
): Promise<ProofCheck> {
  if (proofs.length === 0) return { ok: false, description: 'a DPoP proof is required with the DPoP scheme' };
  if (proofs.length > 1) return { ok: false, description: 'more than one DPoP proof' };
  const [proof] = proofs;
  if (!proof || proof.length > MAX_PROOF_LENGTH) return { ok: false, description: 'the DPoP proof is not a JWS' };

  let header: { jwk?: JWK };
  let payload: Record<string, unknown>;
  try {
    // EmbeddedJWK verifies with the key in the header and refuses a private one; `algorithms` keeps out
    // `none` and MACs; `typ` must be dpop+jwt. jose also refuses a proof with an `exp` or `nbf` out of range.
    const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...policy.algorithms] });
    header = verified.protectedHeader;
    payload = verified.payload;
  } catch {
    return { ok: false, description: 'the DPoP proof is not a valid dpop+jwt signed by the key in its header' };
  }
  const jwk = header.jwk;
  // Already refused by EmbeddedJWK (its key would not be public); said again so no jose change can loosen it.
  if (!jwk || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) return { ok: false, description: 'the DPoP proof key must be a public key' };

  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return { ok: false, description: 'the DPoP proof has no valid jti' };
  if (typeof htm !== 'string' || htm !== expected.method) return { ok: false, description: 'the DPoP proof is for another HTTP method (htm)' };
  if (typeof htu !== 'string' || !sameResource(htu, expected.url)) return { ok: false, description: 'the DPoP proof is for another URL (htu)' };
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return { ok: false, description: 'the DPoP proof has no valid iat' };
  const nowSeconds = now / 1000;
  if (iat < nowSeconds - policy.maxAgeSeconds) return { ok: false, description: 'the DPoP proof is too old (iat)' };
  if (iat > nowSeconds + policy.futureSeconds) return { ok: false, description: 'the DPoP proof is issued in the future (iat)' };
  if (typeof ath !== 'string' || ath !== accessTokenHash(expected.accessToken)) {
    return { ok: false, description: 'the DPoP proof is not for this access token (ath)' };
  }
  let thumbprint: string;
  try {
    thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  } catch {
    return { ok: false, description: 'the DPoP proof key has no thumbprint' };
  }
  return { ok: true, thumbprint, jti, acceptableUntil: (iat + policy.maxAgeSeconds) * 1000 };
}

/**
 * RFC 9449 4.3 step 9: `htu` names the request URL, query and fragment ignored, after the URL parser's
 * normalisation (scheme and host case, default port, dot segments).
 */
function sameResource(htu: string, requestUrl: string): boolean {
  try {
    const claimed = new URL(htu);
    const actual = new URL(requestUrl);
    for (const url of [claimed, actual]) {
      url.search = '';
      url.hash = '';
    }
    return claimed.href === actual.href;
  } catch {
    return false;
  }
}

/**
 * The jti of every proof accepted, until the proof would fail the `iat` check anyway (RFC 9449 11.1). Kept in
 * this process's memory only, keyed by a hash of (key thumbprint, jti), so a replay to another process of the
 * same API is not seen. Bounded: when full, the entries accepted longest ago are forgotten first, which makes
 * their proofs replayable for the rest of their window; size it above the peak proofs per window.
 */
export class DpopReplayCache {
  readonly #seen: ExpiringCache<true>;

  constructor(maxEntries: number) {
    this.#seen = new ExpiringCache<true>(maxEntries);
  }

  /** Records the proof; false when it was recorded before and is still within its window. */
  firstUse(proof: VerifiedProof, now: number = Date.now()): boolean {
    const key = ExpiringCache.key(`${proof.thumbprint} ${proof.jti}`);
    if (this.#seen.get(key, now)) return false;
    this.#seen.set(key, true, proof.acceptableUntil, now);
    return true;
  }

  get size(): number {
    return this.#seen.size;
  }
}
