import { z } from 'zod';

import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../provider/index.js';

/**
 * The admin API's request and response shapes. Requests are validated with these; the OpenAPI document is
 * generated from the same objects, so the two cannot drift apart.
 */

const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/, 'must be a scope token (printable ASCII, no spaces or quotes)');
export const clientIdPattern = /^[A-Za-z0-9._~-]{1,128}$/;

const clientName = z.string().trim().min(1, 'must not be empty').max(200);
const grantTypes = z.array(z.string().min(1).max(200)).min(1, 'at least one grant type').max(10);
// At least one: a client without a scope list would not be limited by one.
const scopes = z.array(scopeToken).min(1, 'at least one scope').max(50);
// Shape only here: the client registry checks each by the client's application type and names the field.
const redirectUris = z
  .array(z.string().max(2048).refine((value) => URL.canParse(value), 'must be an absolute URI'))
  .max(20)
  .describe('matched exactly. web: https (http only on loopback). native: http://127.0.0.1 or http://[::1] (any port accepted at /auth), a claimed https URI, or a reverse-domain private-use scheme such as com.example.app:/callback');
const applicationType = z
  .enum(['web', 'native'])
  .describe('native: a desktop, mobile or CLI app (RFC 8252), a public client (token_endpoint_auth_method none) whose loopback redirect URIs match on any port; fixed at creation');
// Shape only: the client registry checks each key (public, of a known type) and names the bad one.
const jwks = z
  .looseObject({ keys: z.array(z.looseObject({ kty: z.string() })).min(1, 'at least one key').max(10) })
  .describe('public keys (RFC 7517 JWK Set) of a private_key_jwt client; never a private key');

const role = z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'letters, digits and : . _ - only (1-64)');
/** A user's or a client's roles. */
const roles = z.array(role).max(20);

// Shape only here: the client registry checks that each names a configured resource server and names the field.
const resourceServerAudiences = z
  .array(z.url())
  .max(20)
  .describe("identifiers of this deployment's resource servers (RESOURCE_SERVERS, DEFAULT_RESOURCE) whose tokens this client may introspect, as an API's own client");
const clientRoles = roles.describe('roles the client holds itself, carried by its client-credentials tokens (SCOPE_ROLE_REQUIREMENTS)');
// Shape only here: the client registry checks each is a bare origin, https or http on loopback, and names the field.
const webOrigins = z
  .array(z.url({ protocol: /^https?$/ }))
  .max(20)
  .describe('browser origins (scheme://host[:port], no path; https, http only on loopback) of a single-page app allowed by CORS');

const PASSWORD_GRANT_DESCRIPTION =
  'allow the password grant (first-party confidential clients only: true is refused for a public client, token_endpoint_auth_method none, as every native app is)';

export const createClientRequest = z
  .strictObject({
    client_id: z.string().regex(clientIdPattern, 'letters, digits and . _ ~ - only (1-128)').optional(),
    name: clientName,
    application_type: applicationType.default('web'),
    grant_types: grantTypes,
    scopes,
    redirect_uris: redirectUris.default([]),
    // No default here: it depends on application_type (client_secret_basic for web, none for native).
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
      .optional()
      .describe('default client_secret_basic; none (and only none) for a native app'),
    jwks: jwks.optional(),
    password_grant: z.boolean().default(false).describe(PASSWORD_GRANT_DESCRIPTION),
    mfa_required: z.boolean().default(false).describe('tokens need a second factor even for users without one enrolled'),
    resource_server_audiences: resourceServerAudiences.optional(),
    roles: clientRoles.optional(),
    web_origins: webOrigins.optional(),
  });

export const updateClientRequest = z
  .strictObject({
    name: clientName.optional(),
    grant_types: grantTypes.optional(),
    scopes: scopes.optional(),
    redirect_uris: redirectUris.optional().describe('replaces the list; checked by the rules of the client\'s application_type'),
    password_grant: z.boolean().optional().describe(PASSWORD_GRANT_DESCRIPTION),
    mfa_required: z.boolean().optional(),
    jwks: jwks.optional().describe('replaces the public keys of a private_key_jwt client (key rotation)'),
    resource_server_audiences: resourceServerAudiences.optional().describe('replaces the list; [] clears it'),
    roles: clientRoles.optional().describe('replaces the list; [] clears it'),
    web_origins: webOrigins.optional().describe('replaces the list; [] clears it'),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), { message: 'give at least one field to change' });

export const tokenRequest = z.strictObject({ token: z.string().min(1).max(8192) });

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const auditQuery = z.object({
  action: z.string().max(100).optional(),
  client_id: z.string().max(128).optional(),
  account_id: z.string().max(128).optional(),
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const clientResponse = z
  .object({
    client_id: z.string(),
    name: z.string(),
    application_type: z.enum(['web', 'native']),
    grant_types: z.array(z.string()),
    scopes: z.array(z.string()),
    unknown_scopes: z
      .array(z.string())
      .describe('those of scopes no configured API or built-in scope defines (an API removed from the configuration): kept, but not granted until an API defines them again; a PATCH of scopes may keep or drop them, not add new ones'),
    redirect_uris: z.array(z.string()),
    token_endpoint_auth_method: z.string(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional().describe('public keys of a private_key_jwt client'),
    password_grant: z.boolean(),
    mfa_required: z.boolean(),
    resource_server_audiences: z.array(z.string()).describe('audiences whose tokens it may introspect'),
    roles: z.array(z.string()).describe('roles carried by its client-credentials tokens'),
    web_origins: z.array(z.string()).describe('origins allowed by CORS'),
    created_at: z.string(),
  });

export const clientWithSecretResponse = clientResponse
  .extend({ client_secret: z.string().optional().describe('shown once; only a hash is stored') });

/** The longest an operator may keep a replaced secret working (the dashboard's default is a day). */
export const MAX_SECRET_GRACE_SECONDS = 30 * 86400;

export const rotateSecretRequest = z.strictObject({
  grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_SECRET_GRACE_SECONDS)
    .default(0)
    .describe('how long the replaced secret keeps working, so partners can deploy the new one; 0 (default) ends it at once, as after a leak'),
});

export const rotatedSecretResponse = z.object({
  client_id: z.string(),
  client_secret: z.string(),
  previous_secret_valid_until: z.string().optional().describe('when the replaced secret stops working (only with grace_seconds > 0)'),
});

export const revokedTokensResponse = z
  .object({ client_id: z.string(), revoked_records: z.number().int().describe('stored tokens, codes and grants deleted'), jwt_access_tokens: z.literal('revoked') });

export const tokenDescriptionResponse = z
  .object({
    active: z.boolean(),
    token_type: z.enum(['access_token', 'refresh_token']).optional(),
    client_id: z.string().optional(),
    sub: z.string().optional(),
    scope: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    iat: z.number().int().optional(),
    exp: z.number().int().optional(),
  });

export const revokedTokenResponse = z.object({ revoked: z.literal(true), token_type: z.string() });

export const auditEventResponse = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.string(),
    outcome: z.enum(['success', 'failure']),
    actor: z.object({ type: z.string(), id: z.string().optional() }),
    account_id: z.string().optional(),
    client_id: z.string().optional(),
    ip: z.string().optional(),
    user_agent: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  });

export const errorResponse = z.object({
  error: z.string(),
  error_description: z.string().describe('one sentence; a refusal of one field reads `field: problem`, the field named as in fields'),
  fields: z
    .record(z.string(), z.array(z.string()))
    .optional()
    .describe('problems by field, named as the request body names it: an array entry by its index (redirect_uris.1, web_origins.0), `_` for the body as a whole'),
});

export const createUserRequest = z.strictObject({
  email: z.email().max(254),
  password: z.string().min(1).max(1024),
  roles: roles.default([]),
  country_code: z.string().regex(/^[1-9][0-9]{0,2}$/, 'an ITU calling code without +, e.g. 49').optional(),
});

export const setRolesRequest = z.strictObject({ roles });

export const requireMfaRequest = z.strictObject({ required: z.boolean().default(true) });

export const userResponse = z.object({
  customer_id: z.string(),
  email: z.string(),
  roles: z.array(z.string()),
  status: z.enum(['active', 'disabled', 'unverified']),
  country_code: z.string().optional(),
  mfa_methods: z.array(z.string()).describe('second factors in use; never a secret'),
  mfa_enrollment_required: z.boolean().describe('the next sign-in must enroll a second factor'),
  created_at: z.string(),
  updated_at: z.string(),
});

export const revokedUserTokensResponse = z.object({
  customer_id: z.string(),
  revoked_records: z.number().int().describe('sessions (sign-in and dashboard) ended and stored tokens, codes and grants deleted'),
  jwt_access_tokens: z.literal('revoked'),
});

export const rotateKeyRequest = z.strictObject({
  alg: z.enum(SIGNING_ALGORITHMS as readonly [SigningAlgorithm, ...SigningAlgorithm[]]).default('EdDSA'),
});

export const signingKeyResponse = z.object({
  kid: z.string(),
  alg: z.string(),
  state: z.enum(['published', 'signing', 'retired']),
  created_at: z.string(),
  activates_at: z.string().describe('when it starts signing (published in JWKS before that)'),
  retires_at: z.string().optional(),
  unpublished_at: z.string().optional().describe('when it leaves JWKS'),
  public_jwk: z.record(z.string(), z.unknown()).describe('public half only'),
});
