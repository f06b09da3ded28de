/**
 * The Generate Token API (`/auth/v1/authentication/token`): the product's legacy way to get an AuthToken
 * with customer ID, email, country and base64 password, as a translation onto our password and mfa-otp grants.
 */
export { COMPAT_CLIENT_ID, ensureCompatClient } from './internal-client.js';
export { decodeKey, parseGenerateTokenRequest, type GenerateTokenRequest } from './parameters.js';
export { GENERATE_TOKEN_PATH, generateTokenApiRoutes, type GenerateTokenApiDependencies } from './routes.js';
