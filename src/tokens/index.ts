/**
 * The token lifecycle beyond what oidc-provider stores: revocation lists for JWT access tokens, bulk
 * revocation of a client's or a user's tokens, and verification of our own JWT access tokens.
 */
export { BulkRevocation, type BulkRevocationResult } from './bulk-revocation.js';
export { AccessTokenVerifier, type VerifiedAccessToken } from './jwt-verification.js';
export { JwtRevocationList, TOKEN_REVOCATIONS_COLLECTION, type RevocableTokenClaims } from './revocations.js';
