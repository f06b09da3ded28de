import { createPublicKey, type JsonWebKey } from 'node:crypto';

import { z } from 'zod';

import { isWebOrigin } from '../provider/cors-policy.js';

/**
 * A client registration that fails validation. The path names the field by the registry's own name (NewClient,
 * ClientChanges: `['redirectUris', 0]`); the admin API names it as its request body does (admin/field-names.ts).
 */
export class ClientValidationError extends Error {
  override name = 'ClientValidationError';
  constructor(
    /** Where: the field, then the entry or member within it; empty for the registration as a whole. */
    readonly path: readonly (string | number)[],
    /** What is wrong, without the field's name. */
    readonly problem: string,
  ) {
    super(`${path.join('.') || 'client'}: ${problem}`);
  }
}

/** A zod issue's path as a ClientValidationError's (zod allows symbol keys, which no client field is). */
const issuePath = (path: readonly PropertyKey[]) => path.map((key) => (typeof key === 'symbol' ? String(key) : key));

const GRANT_TYPES = ['client_credentials', 'authorization_code', 'refresh_token', 'password', 'urn:authtoken:params:oauth:grant-type:mfa-otp'] as const;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
// RFC 6749 appendix A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

/** https everywhere; http only on loopback (native apps and local development, RFC 8252 7.3). */
function isHttpsOrLoopbackHttp(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** `web`: a server-side or browser app (the default). `native`: a desktop, mobile or command-line app (RFC 8252). */
export const APPLICATION_TYPES = ['web', 'native'] as const;
export type ApplicationType = (typeof APPLICATION_TYPES)[number];

const WILDCARD_MESSAGE = 'must not contain a wildcard: redirect URIs are matched exactly';

const webRedirectUri = z
  .url()
  .refine((value) => {
    const url = new URL(value);
    return !url.hash && isHttpsOrLoopbackHttp(url);
  }, 'must be https (http only on loopback) and carry no fragment')
  // Matching is exact (RFC 9700 4.1.3), so a `*` would never match anything: refusing it tells the operator.
  .refine((value) => !value.includes('*'), WILDCARD_MESSAGE);

/**
 * Loopback IP literals a native app's redirect may use over http (RFC 8252 7.3). Not `localhost`: RFC 8252 8.3
 * calls it NOT RECOMMENDED, since the name can resolve to a non-loopback interface or be answered by another
 * listener (and the provider, which accepts it, would ignore its port as well).
 */
const NATIVE_LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);
/** What the provider's own check counts as loopback: a claimed https URI may not be one of them. */
const LOOPBACK_HOSTS = new Set([...NATIVE_LOOPBACK_HOSTS, 'localhost']);

/** Why a native app's redirect URI is refused, or undefined when it is one of RFC 8252's three kinds. */
function nativeRedirectUriProblem(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url) return 'must be a URI';
  if (value.includes('#')) return 'must carry no fragment';
  if (value.includes('*')) return WILDCARD_MESSAGE;
  if (url.protocol === 'http:') {
    // Written out as the literal (not 0x7f.1, 2130706433, HTTP://, user@...), so the stored URI says what it matches.
    if (NATIVE_LOOPBACK_HOSTS.has(url.hostname)) return /^http:\/\/(127\.0\.0\.1|\[::1\])([:/?]|$)/.test(value) ? undefined : 'write the loopback address as http://127.0.0.1 or http://[::1]';
    return url.hostname === 'localhost'
      ? 'http is for a loopback IP literal: use http://127.0.0.1 or http://[::1] rather than localhost (RFC 8252 8.3)'
      : 'http is for a loopback IP literal only (http://127.0.0.1[:port]/path or http://[::1][:port]/path, RFC 8252 7.3)';
  }
  if (url.protocol === 'https:') {
    return LOOPBACK_HOSTS.has(url.hostname) ? 'a claimed https URI must name the app\'s own domain, not a loopback host (use http for loopback)' : undefined;
  }
  // RFC 8252 7.1, 8.4: a private-use scheme is a reverse domain name the app owns (com.example.app:/callback);
  // one without a period (myapp:, javascript:, data:, file:) is refused.
  return url.protocol.slice(0, -1).includes('.')
    ? undefined
    : 'must be a loopback http URI, a claimed https URI, or a private-use scheme in reverse-domain form such as com.example.app:/callback (RFC 8252 7.1)';
}

const nativeRedirectUri = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const problem = nativeRedirectUriProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The redirect URI rule of an application type: web today's, native RFC 8252's. */
function redirectUrisSchema(applicationType: ApplicationType | undefined) {
  return z.array(applicationType === 'native' ? nativeRedirectUri : webRedirectUri).max(20);
}

/**
 * RFC 8252 8.4, 8.5: a secret shipped inside an app every user has is no secret, so a native app is a public
 * client (token_endpoint_auth_method none) and PKCE, required of every client here, protects its code.
 */
export const NATIVE_PUBLIC_CLIENT_MESSAGE =
  'a native app is a public client: token_endpoint_auth_method must be none (RFC 8252 8.5: a secret shipped in an app is not a secret)';

/**
 * RFC 6749 4.4: the client credentials grant is for confidential clients only. A client that does not
 * authenticate (`none`) and holds it hands a token to anyone who knows its id.
 */
export function isPublicClientCredentials(grantTypes: readonly string[], authMethod: string | undefined): boolean {
  return authMethod === 'none' && grantTypes.includes('client_credentials');
}

export const PUBLIC_CLIENT_CREDENTIALS_MESSAGE = 'client_credentials is for confidential clients only: a client with token_endpoint_auth_method none cannot have it';

/**
 * The password grant is refused at the token endpoint to every public client (isUserGrantAllowed): the switch
 * would be stored and shown as on while doing nothing, so registering it is refused instead.
 */
export function isPublicPasswordGrant(passwordGrant: boolean | undefined, authMethod: string | undefined): boolean {
  return passwordGrant === true && authMethod === 'none';
}

export const PUBLIC_PASSWORD_GRANT_MESSAGE =
  'the password grant is for confidential clients only: a public client (token_endpoint_auth_method none, as every native app) cannot have password_grant';

export const JWKS_WITHOUT_KEYS_MESSAGE = 'only a client with token_endpoint_auth_method private_key_jwt has jwks';

/** NIST SP 800-131A: RSA keys under 2048 bits no longer protect a signature. */
const MIN_RSA_MODULUS_BITS = 2048;
/**
 * RSA verification costs grow with the square of the modulus: a 60,000-bit key made every client assertion
 * of its client cost about a thousand 2048-bit verifications (found by fuzzing). 8192 bits is beyond any
 * key a partner needs (NIST SP 800-57 puts 15360 bits at 256-bit strength; nobody signs with that).
 */
const MAX_RSA_MODULUS_BITS = 8192;

/**
 * Whether the JWK is a public key Node can load (a valid curve point, a real modulus) and of adequate size.
 * An RSA public exponent must be odd and at least 3 (FIPS 186-5 asks for more): Node loads e=1, with which any
 * padded hash "verifies" as its own signature, so anyone could sign as the client; e=0 or an even e never
 * verifies anything real.
 */
function isUsablePublicKey(key: Record<string, unknown>): boolean {
  try {
    const loaded = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    // Only keys of the algorithms client assertions may use (EdDSA, ES256, PS256/RS256): an X25519 or P-521
    // key would load, and fail only at the partner's first token request.
    if (loaded.asymmetricKeyType === 'ec') return loaded.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    if (loaded.asymmetricKeyType !== 'rsa') return loaded.asymmetricKeyType === 'ed25519';
    const { modulusLength: bits, publicExponent: exponent } = loaded.asymmetricKeyDetails ?? {};
    return bits !== undefined && bits >= MIN_RSA_MODULUS_BITS && bits <= MAX_RSA_MODULUS_BITS && exponent !== undefined && exponent >= 3n && exponent % 2n === 1n;
  } catch {
    return false;
  }
}

/**
 * RFC 7517/7518 public key members are strings, but for key_ops and x5c (lists of strings) and ext (a boolean).
 * Anything else is not a key member: a deeply nested value would also overflow the stack where the
 * registration is serialized (a 500), and MongoDB refuses documents nested over 100 levels.
 */
function hasOnlyFlatMembers(key: Record<string, unknown>): boolean {
  return Object.values(key).every(
    (value) => typeof value === 'string' || typeof value === 'boolean' || (Array.isArray(value) && value.every((item) => typeof item === 'string')),
  );
}

const jwk = z
  .looseObject({ kty: z.enum(['RSA', 'EC', 'OKP']) })
  .refine(hasOnlyFlatMembers, 'members must be strings (key_ops and x5c: lists of strings, ext: a boolean)')
  .refine((key) => !('d' in key), 'must be a public key')
  .refine((key) => key.use === undefined || key.use === 'sig', 'must be a signing key (use "sig")')
  .refine(isUsablePublicKey, `must be a valid public signing key: Ed25519, P-256, or RSA of ${MIN_RSA_MODULUS_BITS} to ${MAX_RSA_MODULUS_BITS} bits with an odd public exponent of at least 3`);

/**
 * Characters with no place in a name shown on pages, consent screens and logs: control characters (NUL, line
 * breaks), line and paragraph separators, lone surrogates, and invisible format characters, among them the
 * bidirectional overrides that make "Photos\u202Egnp.exe" read as "Photosexe.png" on a consent screen. The
 * zero-width (non-)joiners stay allowed: Persian, Arabic and Indic names and emoji sequences need them.
 */
export function hasControlCharacters(value: string): boolean {
  return /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}]|(?![\u200C\u200D])\p{Cf}/u.test(value);
}

const clientNameSchema = z.string().trim().min(1).max(200).refine((name) => !hasControlCharacters(name), 'must not contain control characters');

/** Validates a new name of an existing client: the same rule as at registration (an update went unchecked). */
export function validateClientName(input: string): string {
  const parsed = clientNameSchema.safeParse(input);
  if (!parsed.success) throw new ClientValidationError(['name'], parsed.error.issues[0]?.message ?? 'invalid');
  return parsed.data;
}

/** A private_key_jwt client's public keys (RFC 7517 JWK Set): never a private one. */
export const clientJwksSchema = z.object({ keys: z.array(jwk).min(1).max(10) });

/**
 * A single-page app's origin (CORS): the provider's own check (isWebOrigin, run whenever a client loads) plus,
 * at registration, the redirect URIs' rule, since a page served over plain http elsewhere than loopback can be
 * rewritten in transit and would then hold the client's tokens.
 */
const webOrigin = z
  .string()
  .max(2048)
  .refine(isWebOrigin, 'must be an origin (scheme://host[:port], no path), such as https://app.example.com')
  .refine((value) => !URL.canParse(value) || isHttpsOrLoopbackHttp(new URL(value)), 'must be https (http only on loopback)');

/**
 * Customer ids are `C-…`, and a token's `sub` is the customer id for a person and the client id for a
 * client-credentials token: a client id with that prefix could pass for a person at a resource server.
 */
const RESERVED_CLIENT_ID_PREFIX = 'C-';

/** Every field of a registration, without the rules that relate fields to each other. */
const newClientFields = z
  .object({
    clientId: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{1,128}$/)
      .refine((id) => !id.startsWith(RESERVED_CLIENT_ID_PREFIX), `must not start with ${RESERVED_CLIENT_ID_PREFIX} (the prefix of customer ids)`)
      .optional(),
    name: clientNameSchema,
    grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).max(GRANT_TYPES.length),
    scopes: z.array(z.string().regex(SCOPE_TOKEN)).max(100),
    applicationType: z.enum(APPLICATION_TYPES).optional(),
    // Each URI is checked by its application type's rule, below.
    redirectUris: z.array(z.string()).max(20).optional(),
    authMethod: z.enum(AUTH_METHODS).optional(),
    secret: z.string().min(8).max(256).optional(),
    jwks: clientJwksSchema.optional(),
    passwordGrant: z.boolean().optional(),
    mfaRequired: z.boolean().optional(),
    // Shape only: whether each names a resource server of this deployment is the registry's check (it knows them).
    resourceServerAudiences: z.array(z.url()).max(20).optional(),
    roles: z.array(z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/)).max(50).optional(),
    webOrigins: z.array(webOrigin).max(20).optional(),
  })
  .strict();

export const newClientSchema = newClientFields
  .superRefine((client, ctx) => {
    const parsed = redirectUrisSchema(client.applicationType).safeParse(client.redirectUris ?? []);
    for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message, path: ['redirectUris', ...issue.path] });
  })
  .refine((client) => client.applicationType !== 'native' || client.authMethod === undefined || client.authMethod === 'none', {
    message: NATIVE_PUBLIC_CLIENT_MESSAGE,
    path: ['authMethod'],
  })
  .refine((client) => !client.grantTypes.includes('authorization_code') || (client.redirectUris?.length ?? 0) > 0, {
    message: 'authorization_code needs at least one redirect URI',
    path: ['redirectUris'],
  })
  .refine((client) => !isPublicClientCredentials(client.grantTypes, client.authMethod), {
    message: PUBLIC_CLIENT_CREDENTIALS_MESSAGE,
    path: ['grantTypes'],
  })
  // A native app without an auth method is registered with none (ClientRegistry.create).
  .refine((client) => !isPublicPasswordGrant(client.passwordGrant, client.authMethod ?? (client.applicationType === 'native' ? 'none' : undefined)), {
    message: PUBLIC_PASSWORD_GRANT_MESSAGE,
    path: ['passwordGrant'],
  })
  .refine((client) => client.authMethod !== 'private_key_jwt' || client.jwks !== undefined, {
    message: 'private_key_jwt needs jwks',
    path: ['jwks'],
  })
  .refine((client) => client.jwks === undefined || client.authMethod === 'private_key_jwt', {
    message: JWKS_WITHOUT_KEYS_MESSAGE,
    path: ['jwks'],
  });

/** Validates replacement keys of an existing client (a partner rotating its keys). */
export function validateClientJwks(input: unknown): z.infer<typeof clientJwksSchema> {
  const parsed = clientJwksSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientValidationError(['jwks', ...issuePath(issue?.path ?? [])], issue?.message ?? 'invalid');
  }
  return parsed.data;
}

export type ValidNewClient = z.infer<typeof newClientSchema>;

/** The first problem of a failed parse. */
function firstIssue(error: z.ZodError): ClientValidationError {
  const issue = error.issues[0];
  return new ClientValidationError(issuePath(issue?.path ?? []), issue?.message ?? 'invalid');
}

/** Validates a registration at the boundary: everything stored in the clients collection went through this. */
export function validateNewClient(input: unknown): ValidNewClient {
  const parsed = newClientSchema.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data;
}

/** Validates new redirect URIs of an existing client by its application type's registration rule. */
export function validateRedirectUris(applicationType: ApplicationType, input: unknown): string[] {
  const parsed = redirectUrisSchema(applicationType).safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientValidationError(['redirectUris', ...issuePath(issue?.path ?? [])], issue?.message ?? 'invalid');
  }
  return parsed.data;
}

const listChangesSchema = newClientFields.pick({ resourceServerAudiences: true, roles: true, webOrigins: true });

export type ValidListChanges = z.infer<typeof listChangesSchema>;

/** Validates new audiences, roles and web origins of an existing client by the registration's own rules. */
export function validateListChanges(input: unknown): ValidListChanges {
  const parsed = listChangesSchema.safeParse(input);
  if (!parsed.success) throw firstIssue(parsed.error);
  return parsed.data;
}
