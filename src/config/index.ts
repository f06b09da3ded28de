import { MongoClient } from 'mongodb';
import { z } from 'zod';

import { readConfigFile } from './file.js';

/** Raised when the environment holds a value we cannot run with; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A well-known value used only outside production, so `npm start` works with no setup. */
export const DEVELOPMENT_MASTER_KEY = Buffer.from('authtoken-server development key').toString('base64');

/**
 * A whole decimal number in [min, max]. Coercing with Number() let `0x100` and `1e3` through and answered
 * `1h` with "expected number, received NaN"; one message for every mistake says what is wanted.
 */
const intInRange = (min: number, max: number) => {
  const wanted = `must be a whole number from ${min} to ${max} (digits only, no unit)`;
  return z
    .string()
    .trim()
    .regex(/^-?\d+$/, wanted)
    .transform(Number)
    .pipe(z.number().int().min(min, wanted).max(max, wanted));
};
// Any case: operators coming from Keycloak or Hydra write TRUE and INFO, and neither value can mean anything else.
const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false (also 1/0, yes/no; any case)'))
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intInRange(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  ISSUER: z.url().optional(),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/).optional(),
  LOG_LEVEL: z.string().trim().toLowerCase().pipe(z.enum(logLevels, `must be one of ${logLevels.join(', ')} (any case)`)).default('info'),
  COOKIE_KEYS: z.string().optional(),
  AUTHTOKEN_MASTER_KEY: z.string().optional(),
  AUTHTOKEN_MASTER_KEY_ID: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('k1'),
  AUTHTOKEN_PREVIOUS_MASTER_KEYS: z.string().optional(),
  ACCESS_TOKEN_FORMAT: z.enum(['opaque', 'jwt']).default('opaque'),
  ACCESS_TOKEN_TTL: intInRange(60, 86400).default(3600),
  CLIENT_CREDENTIALS_TTL: intInRange(60, 86400).default(3600),
  ID_TOKEN_TTL: intInRange(60, 86400).default(3600),
  REFRESH_TOKEN_TTL: intInRange(300, 365 * 86400).default(14 * 86400),
  DEFAULT_RESOURCE: z.url().optional(),
  API_SCOPES: z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/).default('api:read api:write'),
  DEMO_SEED: bool.optional(),
  DEMO_CLIENT_ID: z.string().regex(/^[A-Za-z0-9._~-]{1,128}$/).default('demo-client'),
  DEMO_CLIENT_SECRET: z.string().min(8).max(256).default('demo-secret'),
  DEMO_REDIRECT_URI: z.url().default('http://localhost:8080/callback'),
  REQUIRE_MFA: bool.optional(),
  STORE_SWEEP_INTERVAL_SECONDS: intInRange(5, 86400).default(60),
  MONGODB_CONNECT_ATTEMPTS: intInRange(1, 100).default(8),
  SHUTDOWN_TIMEOUT_MS: intInRange(100, 120000).default(10000),
  MIGRATION_LEASE_SECONDS: intInRange(10, 86400).default(300),
  CLIENT_CACHE_TTL_MS: intInRange(0, 60000).default(5000),
  CLIENT_CACHE_MAX_ENTRIES: intInRange(0, 1000000).default(10000),
  CLIENT_CREDENTIALS_FAST_PATH: bool.default(true),
  CLIENT_ASSERTION_MAX_LIFETIME_SECONDS: intInRange(60, 86400).default(3600),
  ADMIN_PORT: intInRange(0, 65535).default(3001),
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').max(512).optional(),
  TRUST_PROXY: bool.default(false),
  TRUSTED_PROXY_HOPS: intInRange(1, 10).default(1),
  RESOURCE_SERVERS: z.string().optional(),
  ACCESS_TOKEN_SIGNING_ALG: z.enum(['EdDSA', 'ES256', 'RS256']).default('EdDSA'),
  REFRESH_TOKEN_IDLE_TTL: intInRange(300, 365 * 86400).default(7 * 86400),
  SIGNING_KEY_PUBLISH_DELAY_SECONDS: intInRange(1, 30 * 86400).default(900),
  SIGNING_KEY_POLL_INTERVAL_SECONDS: intInRange(1, 3600).default(30),
  JWKS_CACHE_MAX_AGE_SECONDS: intInRange(0, 86400).default(300),
  SCOPE_ROLE_REQUIREMENTS: z.string().optional(),
  SIGNING_KEYS: z.string().optional(),
  // Accounts and MFA (password grant, login pages, dashboard).
  ARGON2_MEMORY_KIB: intInRange(19456, 4 * 1024 * 1024).default(19456),
  ARGON2_TIME_COST: intInRange(2, 20).default(2),
  ARGON2_PARALLELISM: intInRange(1, 16).default(1),
  ARGON2_MAX_CONCURRENT: intInRange(0, 64).default(0),
  TOTP_ISSUER: z.string().min(1).max(64).default('AuthToken'),
  MFA_TOKEN_TTL_SECONDS: intInRange(30, 3600).default(300),
  MFA_TOKEN_MAX_ATTEMPTS: intInRange(1, 20).default(5),
  EMAIL_CODE_TTL_SECONDS: intInRange(30, 3600).default(300),
  EMAIL_CODE_MAX_ATTEMPTS: intInRange(1, 20).default(5),
  EMAIL_CODE_RESEND_COOLDOWN_SECONDS: intInRange(0, 3600).default(30),
  EMAIL_CODE_MAX_PER_HOUR: intInRange(0, 1000).default(10),
  MFA_EMAIL_ENABLED: bool.optional(),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
  MAIL_FROM: z.string().min(3).max(256).default('AuthToken <no-reply@localhost>'),
  MAIL_DEV_DIRECTORY: z.string().min(1).optional(),
  MFA_DELIVERY: z.enum(['email', 'webhook']).default('email'),
  DELIVERY_WEBHOOK_URL: z.url().optional(),
  DELIVERY_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').max(512).optional(),
  DELIVERY_WEBHOOK_TIMEOUT_MS: intInRange(100, 60000).default(5000),
  SIGNIN_FREE_FAILURES: intInRange(0, 100).default(3),
  SIGNIN_BACKOFF_BASE_MS: intInRange(1, 3_600_000).default(1000),
  SIGNIN_BACKOFF_MAX_MS: intInRange(1, 86_400_000).default(15 * 60 * 1000),
  SIGNIN_ACCOUNT_CEILING: intInRange(1, 1_000_000).default(100),
  SIGNIN_ACCOUNT_WINDOW_SECONDS: intInRange(1, 7 * 86400).default(3600),
  SIGNIN_KNOWN_ADDRESS_DAYS: intInRange(0, 365).default(30),
  SIGNIN_CHECK_HOLD_MS: intInRange(1000, 600_000).default(5_000),
  RATE_LIMIT_WINDOW_SECONDS: intInRange(1, 3600).default(60),
  RATE_LIMIT_PASSWORD_GRANT: intInRange(0, 1_000_000).default(300),
  RATE_LIMIT_MFA_CHALLENGE: intInRange(0, 1_000_000).default(30),
  RATE_LIMIT_PASSWORD_RESET: intInRange(0, 1_000_000).default(10),
  RATE_LIMIT_SIGN_IN_PAGES: intInRange(0, 1_000_000).default(60),
  RATE_LIMIT_EMAILS_PER_ADDRESS: intInRange(0, 1_000_000).default(5),
  PASSWORD_RESET_LINK_TTL_SECONDS: intInRange(60, 86400).default(1800),
  COMPAT_TOKEN_API: bool.default(true),
  COMPAT_TOKEN_GET: bool.optional(),
  DASHBOARD_SESSION_TTL_SECONDS: intInRange(60, 7 * 86400).default(8 * 3600),
  SIGNIN_SESSION_TTL_SECONDS: intInRange(1, 365 * 86400).default(12 * 3600),
  SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: intInRange(1, 365 * 86400).default(14 * 86400),
  CLIENT_SECRET_GRACE_SECONDS: intInRange(0, 30 * 86400).default(86400),
  DASHBOARD_SUDO_SECONDS: intInRange(0, 3600).default(600),
  DASHBOARD_SIGNUP: bool.optional(),
  SIGNUP_LINK_TTL_SECONDS: intInRange(300, 7 * 86400).default(86400),
  RATE_LIMIT_SIGNUP: intInRange(0, 1_000_000).default(5),
  SESSION_LAST_SEEN_INTERVAL_SECONDS: intInRange(1, 3600).default(60),
  DEMO_USER_EMAIL: z.email().default('demo@example.com'),
  DEMO_USER_PASSWORD: z.string().min(1).max(128).default('demo-password'),
  DEMO_CUSTOMER_ID: z.string().regex(/^C-[A-Za-z0-9_-]{4,64}$/, 'must look like C-xxxx').optional(),
  DEMO_USER_TOTP: bool.optional(),
  DEMO_TOTP_SECRET: z.string().regex(/^[A-Z2-7]{16,128}=*$/, 'must be base32 (A-Z, 2-7), at least 16 characters').optional(),
});

/** Every option name, as accepted in the environment and in an AUTHTOKEN_CONFIG file. */
export const CONFIG_KEYS: ReadonlySet<string> = new Set(Object.keys(envSchema.shape));
/** Read beside the options: where to find a configuration file (it cannot be set from one). */
export const CONFIG_FILE_VARIABLE = 'AUTHTOKEN_CONFIG';
/**
 * The fixed default of each option that has one, in its environment form (`true`, `3600`); options whose
 * default depends on others (ISSUER, DASHBOARD_SIGNUP, ...) are absent. The README's table must agree.
 * Worked out when asked: only that check needs it, not a server starting.
 */
export function configDefaults(): Readonly<Record<string, string>> {
  return Object.fromEntries(Object.entries(envSchema.parse({})).map(([key, value]) => [key, String(value)]));
}
const tokenFormat = z.enum(['opaque', 'jwt']);
const signingAlg = z.enum(['EdDSA', 'ES256', 'RS256']);

/** One API accepting AuthTokens, as RESOURCE_SERVERS lists it (JSON array). */
const resourceServerSchema = z.strictObject({
  identifier: z.url(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).min(1),
  format: tokenFormat.default('opaque'),
  // A JSON number; a quoted one ("900") as well, which deployments written before this check may hold.
  accessTokenTtl: z.union([z.number().int().min(60).max(86400), intInRange(60, 86400)]).optional(),
  signingAlg: signingAlg.optional(),
});

/** SIGNING_KEYS: a JWKS of private keys to sign with (imported into the store, encrypted, at start). */
const signingKeysSchema = z.object({
  keys: z
    .array(
      z.looseObject({
        kid: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/),
        alg: signingAlg,
        kty: z.enum(['OKP', 'EC', 'RSA']),
        d: z.string().min(1, 'must be a private key'),
      }),
    )
    .min(1),
});

/** SCOPE_ROLE_REQUIREMENTS: `{"admin:*":"admin"}`, a scope (or `prefix*`) mapped to the role it needs. */
const scopeRoleSchema = z.record(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/), z.string().min(1));

type Env = z.infer<typeof envSchema>;

export interface MasterKey {
  id: string;
  key: Buffer;
}

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  issuer: string;
  mongodb: { uri: string; dbName: string | undefined; connectAttempts: number } | undefined;
  logLevel: Env['LOG_LEVEL'];
  cookieKeys: string[];
  /** True when the cookie keys were generated for this process because none were configured. */
  cookieKeysEphemeral: boolean;
  masterKey: MasterKey;
  /** Older master keys, kept to read data written before a rotation. */
  previousMasterKeys: MasterKey[];
  /** True when the well-known development master key is in use. */
  masterKeyIsDevelopment: boolean;
  accessTokenFormat: Env['ACCESS_TOKEN_FORMAT'];
  ttl: { accessToken: number; clientCredentials: number; idToken: number; refreshToken: number };
  defaultResource: string;
  apiScopes: string[];
  demo: {
    enabled: boolean;
    clientId: string;
    clientSecret: string;
    /** Where the demo clients of the code flow return to. */
    redirectUri: string;
    userEmail: string;
    userPassword: string;
    customerId: string | undefined;
    totpSecret: string | undefined;
    /** Enroll the demo user in TOTP (default); false seeds a password-only user (benchmarks). */
    userTotp: boolean;
  };
  /** argon2id cost; stored hashes made with other values are rehashed at the next successful sign-in. */
  argon2: { memoryKib: number; timeCost: number; parallelism: number; maxConcurrent: number };
  mfa: {
    totpIssuer: string;
    /** Every account must have a second factor; those without one enroll at their next sign-in. */
    requiredForAll: boolean;
    mfaTokenTtlSeconds: number;
    mfaTokenMaxAttempts: number;
    emailEnabled: boolean;
    emailCodeTtlSeconds: number;
    emailCodeMaxAttempts: number;
    emailCodeResendCooldownSeconds: number;
    /**
     * Codes emailed to one account per clock hour (0: no cap). The cooldown alone let whoever knows the password
     * have about 120 an hour mailed to the owner.
     */
    emailCodeMaxPerHour: number;
  };
  /** SMTP_URL unset: development mail goes to the terminal, or to .eml files under devDirectory. */
  mail: { smtpUrl: string | undefined; from: string; devDirectory: string | undefined };
  /** How codes and notices travel: email (nodemailer) or a signed webhook to a gateway. */
  delivery:
    | { channel: 'email' }
    | { channel: 'webhook'; url: string; secret: string; timeoutMs: number };
  /** Growing backoff per (account, client IP), plus a per-account ceiling; see src/accounts/throttle.ts. */
  signInThrottle: {
    freeFailures: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    accountCeiling: number;
    accountWindowSeconds: number;
    /** Addresses the account completed a sign-in from pass the ceiling for this many days (0: none do). */
    knownAddressDays: number;
    /** The longest an attempt past the free failures blocks its pair while it is checked (a crash mid-check). */
    checkHoldMs: number;
  };
  /**
   * Per-IP fixed-window limits (requests per window; 0 turns a limit off). `signInPages` counts password and
   * code submissions on the login and MFA pages together. `emailsPerAddress` is the exception: emails anyone
   * can have sent by typing an address, per form: sign-up emails per mailbox per hour (MailboxBudget), reset links
   * per account per link lifetime.
   */
  rateLimits: { windowSeconds: number; passwordGrant: number; mfaChallenge: number; passwordReset: number; signUp: number; signInPages: number; emailsPerAddress: number };
  /** How long an emailed "forgot password" link works. */
  passwordResetLinkTtlSeconds: number;
  /**
   * The Generate Token API (a password grant for the product we replace, which RFC 9700 discourages): served
   * unless turned off; GET with the key in the query string only when explicitly allowed (deprecated).
   */
  generateTokenApi: { enabled: boolean; allowGet: boolean };
  /** The customer dashboard's own sessions. */
  dashboard: {
    sessionTtlSeconds: number;
    secretRotationGraceSeconds: number;
    /**
     * After a re-authentication on the dashboard, how long its session may create credentials and rotate
     * secrets without asking again (DASHBOARD_SUDO_SECONDS; 0 asks every time).
     */
    sudoSeconds: number;
    /** Self-service sign-up with email verification (DASHBOARD_SIGNUP; default on outside production only). */
    signUp: boolean;
    /** How long an emailed verification link works. */
    signUpLinkTtlSeconds: number;
  };
  /**
   * Lifetimes of the provider's sign-in (SSO) sessions, counted from the sign-in: `ttlSeconds` when the person
   * did not tick "Keep me signed in on this device" (the cookie then ends with the browser), `rememberedTtlSeconds`
   * when they did (a persistent cookie). Never shorter remembered than not.
   */
  signInSession: { ttlSeconds: number; rememberedTtlSeconds: number };
  /** A sign-in session's "last seen" is written at most once per this many seconds (one write per interval, not per request). */
  sessionLastSeenIntervalSeconds: number;
  storeSweepIntervalSeconds: number;
  shutdownTimeoutMs: number;
  /** How long an instance waits on another's unfinished migration before taking it over. */
  migrationLeaseSeconds: number;
  /** Client metadata cache: other instances see a changed client within ttlMs (0 disables the cache). */
  clientCache: { ttlMs: number; maxEntries: number };
  /** Plain client-credentials requests answered without oidc-provider's generic token pipeline (client-credentials-fast-path.ts). */
  clientCredentialsFastPath: boolean;
  /** How far ahead a private_key_jwt assertion's exp may be: its replay record is kept that long. */
  clientAssertionMaxLifetimeSeconds: number;
  /** The admin API; it starts only when a token is configured. */
  admin: { port: number; host: string; token: string | undefined };
  /** Honour X-Forwarded-For/-Proto (only behind a proxy that sets them). */
  trustProxy: boolean;
  /**
   * How many proxies we run append to X-Forwarded-For: the client address is that many entries from the
   * right (entries further left were written by the client). Used only with trustProxy.
   */
  trustedProxyHops: number;
  /** The AUTHTOKEN_CONFIG file that was read, if any. */
  configFile: string | undefined;
  /** Every API accepting AuthTokens; the default resource first. */
  resourceServers: ResourceServerConfig[];
  /** JWS algorithm of JWT access tokens unless a resource server names another. */
  accessTokenSigningAlg: SigningAlg;
  /** Refresh tokens: `ttl.refreshToken` is the absolute lifetime of the chain, this the idle one. */
  refreshTokenIdleTtl: number;
  signingKeys: { publishDelaySeconds: number; pollIntervalSeconds: number; jwksCacheMaxAgeSeconds: number };
  /** Scope (or `prefix*` pattern) -> the role a subject needs to be granted it. */
  scopeRoleRequirements: Record<string, string>;
  /** Private JWKs supplied by the operator (SIGNING_KEYS); otherwise keys are generated. */
  configuredSigningKeys: ConfiguredSigningKey[];
}

export type ConfiguredSigningKey = z.infer<typeof signingKeysSchema>['keys'][number];

export type SigningAlg = z.infer<typeof signingAlg>;

export interface ResourceServerConfig {
  identifier: string;
  scopes: string[];
  format: z.infer<typeof tokenFormat>;
  /**
   * Set: every access token for this API lives this long (`accessTokenTtl` in RESOURCE_SERVERS). Unset: the
   * token kind's own lifetime, ACCESS_TOKEN_TTL for a user's, CLIENT_CREDENTIALS_TTL for a client's.
   */
  accessTokenTtl?: number;
  signingAlg: SigningAlg;
}

function parseJson<T>(variable: string, value: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (value === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw new ConfigError(`${variable}: not valid JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${variable}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid value'}`.trim());
  }
  return parsed.data;
}

function parseMasterKey(variable: string, id: string, value: string): MasterKey {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')) {
    throw new ConfigError(`${variable}: must be 32 random bytes, base64-encoded (e.g. openssl rand -base64 32)`);
  }
  return { id, key };
}

/**
 * The driver parses the connection string when a client is constructed (no connection is made then). Left to
 * the store, a malformed one stopped the start with the driver's words alone ("Invalid connection string"),
 * naming no variable. The driver's parse messages do not repeat the password.
 */
function assertMongoConnectionString(uri: string): void {
  try {
    new MongoClient(uri);
  } catch (error) {
    throw new ConfigError(
      `MONGODB_URI: not a valid connection string: ${(error as Error).message} (percent-encode @ : / ? # in the user name and password)`,
    );
  }
}

function isLocalhost(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * Reads and validates configuration from an environment map. Throws ConfigError naming the offending
 * variable; never returns a configuration that would be unsafe in production.
 */
/**
 * Whether the server is reached over https (its issuer says so): cookies are then Secure, and our own carry
 * the __Host- prefix; security headers add HSTS.
 */
export function servesHttps(config: Pick<Config, 'issuer'>): boolean {
  return config.issuer.startsWith('https:');
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const fromEnv = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  );
  const configFile = fromEnv[CONFIG_FILE_VARIABLE];
  let fromFile: Record<string, string> = {};
  if (configFile) {
    try {
      fromFile = readConfigFile(configFile, CONFIG_KEYS);
    } catch (error) {
      throw new ConfigError(`${CONFIG_FILE_VARIABLE}: ${(error as Error).message}`);
    }
  }
  // The environment wins over the file, key by key.
  const cleaned = { ...fromFile, ...fromEnv };
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`${variable}: ${issue?.message ?? 'invalid value'}`);
  }
  const env = parsed.data;
  const isProduction = env.NODE_ENV === 'production';

  const issuer = (env.ISSUER ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  const issuerUrl = new URL(issuer);
  // z.url() takes any scheme, and reads `localhost:3000` as scheme `localhost:` with path `3000`.
  if (issuerUrl.protocol !== 'https:' && issuerUrl.protocol !== 'http:') {
    throw new ConfigError('ISSUER: must be an http:// or https:// URL, e.g. https://auth.example.com');
  }
  if (issuerUrl.search || issuerUrl.hash) {
    throw new ConfigError('ISSUER: must not contain a query or fragment');
  }
  // Our pages, forms and redirects use root paths (/interaction, /dashboard, /static): under a path prefix
  // they would point outside it, while every URL oidc-provider publishes would include it.
  if (issuerUrl.pathname !== '/') {
    throw new ConfigError('ISSUER: must have no path (the server answers at the root of its host; give it a host of its own)');
  }

  if (env.MONGODB_URI) assertMongoConnectionString(env.MONGODB_URI);

  const masterKeyIsDevelopment = env.AUTHTOKEN_MASTER_KEY === undefined;
  const masterKey = parseMasterKey(
    'AUTHTOKEN_MASTER_KEY',
    masterKeyIsDevelopment ? 'dev' : env.AUTHTOKEN_MASTER_KEY_ID,
    env.AUTHTOKEN_MASTER_KEY ?? DEVELOPMENT_MASTER_KEY,
  );
  const previousMasterKeys = (env.AUTHTOKEN_PREVIOUS_MASTER_KEYS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const separator = entry.indexOf(':');
      if (separator < 1) {
        throw new ConfigError('AUTHTOKEN_PREVIOUS_MASTER_KEYS: expected a comma-separated list of id:base64key');
      }
      return parseMasterKey('AUTHTOKEN_PREVIOUS_MASTER_KEYS', entry.slice(0, separator), entry.slice(separator + 1));
    });

  const cookieKeys = (env.COOKIE_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  if (cookieKeys.some((key) => key.length < 32)) {
    throw new ConfigError('COOKIE_KEYS: each key must be at least 32 characters');
  }

  if (isProduction) {
    // All the missing ones in one line, each with how to make it: one restart per variable wastes a deploy each.
    const missing = [
      !env.MONGODB_URI && ['MONGODB_URI', 'the connection string, e.g. mongodb://db.internal:27017/authtoken'],
      cookieKeys.length === 0 && ['COOKIE_KEYS', 'e.g. $(openssl rand -base64 48)'],
      masterKeyIsDevelopment && ['AUTHTOKEN_MASTER_KEY', '$(openssl rand -base64 32); keep it: what is stored under it cannot be read without it'],
    ].filter((entry): entry is string[] => entry !== false);
    const [first, ...others] = missing;
    if (first) {
      const alsoMissing = others.map(([variable, how]) => `; also ${variable} (${how})`).join('');
      throw new ConfigError(`${first[0]}: required when NODE_ENV=production (${first[1]})${alsoMissing}`);
    }
    if (issuerUrl.protocol !== 'https:' && !isLocalhost(issuerUrl)) {
      throw new ConfigError('ISSUER: must be https when NODE_ENV=production (localhost excepted)');
    }
  }

  const mfaEmailEnabled = env.MFA_EMAIL_ENABLED ?? true;
  if (env.MFA_DELIVERY === 'webhook' && (!env.DELIVERY_WEBHOOK_URL || !env.DELIVERY_WEBHOOK_SECRET)) {
    throw new ConfigError('DELIVERY_WEBHOOK_URL: DELIVERY_WEBHOOK_URL and DELIVERY_WEBHOOK_SECRET are required when MFA_DELIVERY=webhook');
  }
  if (isProduction && env.DELIVERY_WEBHOOK_URL && !env.DELIVERY_WEBHOOK_URL.startsWith('https:')) {
    throw new ConfigError('DELIVERY_WEBHOOK_URL: must be https when NODE_ENV=production');
  }
  if (isProduction && mfaEmailEnabled && env.MFA_DELIVERY === 'email' && !env.SMTP_URL) {
    throw new ConfigError('SMTP_URL: required when NODE_ENV=production and email MFA is on (or set MFA_EMAIL_ENABLED=false)');
  }

  // Off in production unless asked for: a self-registered account may put every scope that needs no role
  // (SCOPE_ROLE_REQUIREMENTS) on its credentials, which an operator should decide to allow.
  const signUpEnabled = env.DASHBOARD_SIGNUP ?? !isProduction;
  if (isProduction && signUpEnabled && env.MFA_DELIVERY === 'email' && !env.SMTP_URL) {
    throw new ConfigError('SMTP_URL: required when NODE_ENV=production and DASHBOARD_SIGNUP is on (verification links are emailed)');
  }

  const apiScopes = env.API_SCOPES.split(' ');
  const defaultResource = env.DEFAULT_RESOURCE ?? `${issuer}/api`;
  const listedServers = parseJson('RESOURCE_SERVERS', env.RESOURCE_SERVERS, z.array(resourceServerSchema)) ?? [];
  const resourceServers: ResourceServerConfig[] = [
    {
      identifier: defaultResource,
      scopes: apiScopes,
      format: env.ACCESS_TOKEN_FORMAT,
      signingAlg: env.ACCESS_TOKEN_SIGNING_ALG,
    },
    ...listedServers
      .filter((server) => server.identifier !== defaultResource)
      .map((server) => ({
        identifier: server.identifier,
        scopes: server.scopes,
        format: server.format,
        ...(server.accessTokenTtl !== undefined ? { accessTokenTtl: server.accessTokenTtl } : {}),
        signingAlg: server.signingAlg ?? env.ACCESS_TOKEN_SIGNING_ALG,
      })),
  ];
  if (listedServers.some((server) => server.identifier === defaultResource)) {
    throw new ConfigError('RESOURCE_SERVERS: the default resource is configured by DEFAULT_RESOURCE, API_SCOPES and ACCESS_TOKEN_FORMAT');
  }
  // A key must be in every cached JWKS before it signs; a poll may notice the new key up to one interval late.
  if (env.SIGNING_KEY_PUBLISH_DELAY_SECONDS <= env.JWKS_CACHE_MAX_AGE_SECONDS + env.SIGNING_KEY_POLL_INTERVAL_SECONDS) {
    throw new ConfigError('SIGNING_KEY_PUBLISH_DELAY_SECONDS: must exceed JWKS_CACHE_MAX_AGE_SECONDS + SIGNING_KEY_POLL_INTERVAL_SECONDS');
  }
  if (env.REFRESH_TOKEN_IDLE_TTL > env.REFRESH_TOKEN_TTL) {
    throw new ConfigError('REFRESH_TOKEN_IDLE_TTL: must not exceed REFRESH_TOKEN_TTL (the absolute lifetime)');
  }
  if (env.SIGNIN_REMEMBERED_SESSION_TTL_SECONDS < env.SIGNIN_SESSION_TTL_SECONDS) {
    throw new ConfigError('SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: must not be less than SIGNIN_SESSION_TTL_SECONDS (a remembered sign-in never ends sooner)');
  }
  // Known demo credentials go only where they can do no harm: never production, and a persistent
  // database only when asked for explicitly.
  const demoEnabled = !isProduction && (env.MONGODB_URI ? env.DEMO_SEED === true : env.DEMO_SEED !== false);

  return {
    env: env.NODE_ENV,
    isProduction,
    port: env.PORT,
    host: env.HOST,
    issuer,
    mongodb: env.MONGODB_URI
      ? { uri: env.MONGODB_URI, dbName: env.MONGODB_DB, connectAttempts: env.MONGODB_CONNECT_ATTEMPTS }
      : undefined,
    logLevel: env.LOG_LEVEL,
    cookieKeys: cookieKeys.length > 0 ? cookieKeys : [randomCookieKey(), randomCookieKey()],
    cookieKeysEphemeral: cookieKeys.length === 0,
    masterKey,
    previousMasterKeys,
    masterKeyIsDevelopment,
    accessTokenFormat: env.ACCESS_TOKEN_FORMAT,
    ttl: {
      accessToken: env.ACCESS_TOKEN_TTL,
      clientCredentials: env.CLIENT_CREDENTIALS_TTL,
      idToken: env.ID_TOKEN_TTL,
      refreshToken: env.REFRESH_TOKEN_TTL,
    },
    defaultResource,
    apiScopes,
    demo: {
      enabled: demoEnabled,
      clientId: env.DEMO_CLIENT_ID,
      clientSecret: env.DEMO_CLIENT_SECRET,
      redirectUri: env.DEMO_REDIRECT_URI,
      userEmail: env.DEMO_USER_EMAIL,
      userPassword: env.DEMO_USER_PASSWORD,
      customerId: env.DEMO_CUSTOMER_ID,
      totpSecret: env.DEMO_TOTP_SECRET?.replace(/=+$/, ''),
      userTotp: env.DEMO_USER_TOTP ?? true,
    },
    argon2: { memoryKib: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM, maxConcurrent: env.ARGON2_MAX_CONCURRENT },
    mfa: {
      totpIssuer: env.TOTP_ISSUER,
      requiredForAll: env.REQUIRE_MFA === true,
      mfaTokenTtlSeconds: env.MFA_TOKEN_TTL_SECONDS,
      mfaTokenMaxAttempts: env.MFA_TOKEN_MAX_ATTEMPTS,
      emailEnabled: mfaEmailEnabled,
      emailCodeTtlSeconds: env.EMAIL_CODE_TTL_SECONDS,
      emailCodeMaxAttempts: env.EMAIL_CODE_MAX_ATTEMPTS,
      emailCodeResendCooldownSeconds: env.EMAIL_CODE_RESEND_COOLDOWN_SECONDS,
      emailCodeMaxPerHour: env.EMAIL_CODE_MAX_PER_HOUR,
    },
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM, devDirectory: env.MAIL_DEV_DIRECTORY },
    delivery:
      env.MFA_DELIVERY === 'webhook' && env.DELIVERY_WEBHOOK_URL && env.DELIVERY_WEBHOOK_SECRET
        ? { channel: 'webhook', url: env.DELIVERY_WEBHOOK_URL, secret: env.DELIVERY_WEBHOOK_SECRET, timeoutMs: env.DELIVERY_WEBHOOK_TIMEOUT_MS }
        : { channel: 'email' },
    signInThrottle: {
      freeFailures: env.SIGNIN_FREE_FAILURES,
      backoffBaseMs: env.SIGNIN_BACKOFF_BASE_MS,
      backoffMaxMs: env.SIGNIN_BACKOFF_MAX_MS,
      accountCeiling: env.SIGNIN_ACCOUNT_CEILING,
      accountWindowSeconds: env.SIGNIN_ACCOUNT_WINDOW_SECONDS,
      knownAddressDays: env.SIGNIN_KNOWN_ADDRESS_DAYS,
      checkHoldMs: env.SIGNIN_CHECK_HOLD_MS,
    },
    rateLimits: {
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      passwordGrant: env.RATE_LIMIT_PASSWORD_GRANT,
      mfaChallenge: env.RATE_LIMIT_MFA_CHALLENGE,
      passwordReset: env.RATE_LIMIT_PASSWORD_RESET,
      signUp: env.RATE_LIMIT_SIGNUP,
      emailsPerAddress: env.RATE_LIMIT_EMAILS_PER_ADDRESS,
      signInPages: env.RATE_LIMIT_SIGN_IN_PAGES,
    },
    passwordResetLinkTtlSeconds: env.PASSWORD_RESET_LINK_TTL_SECONDS,
    generateTokenApi: { enabled: env.COMPAT_TOKEN_API, allowGet: env.COMPAT_TOKEN_GET === true },
    dashboard: {
      sessionTtlSeconds: env.DASHBOARD_SESSION_TTL_SECONDS,
      secretRotationGraceSeconds: env.CLIENT_SECRET_GRACE_SECONDS,
      sudoSeconds: env.DASHBOARD_SUDO_SECONDS,
      signUp: signUpEnabled,
      signUpLinkTtlSeconds: env.SIGNUP_LINK_TTL_SECONDS,
    },
    signInSession: { ttlSeconds: env.SIGNIN_SESSION_TTL_SECONDS, rememberedTtlSeconds: env.SIGNIN_REMEMBERED_SESSION_TTL_SECONDS },
    sessionLastSeenIntervalSeconds: env.SESSION_LAST_SEEN_INTERVAL_SECONDS,
    storeSweepIntervalSeconds: env.STORE_SWEEP_INTERVAL_SECONDS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    migrationLeaseSeconds: env.MIGRATION_LEASE_SECONDS,
    clientCache: { ttlMs: env.CLIENT_CACHE_TTL_MS, maxEntries: env.CLIENT_CACHE_MAX_ENTRIES },
    clientCredentialsFastPath: env.CLIENT_CREDENTIALS_FAST_PATH,
    clientAssertionMaxLifetimeSeconds: env.CLIENT_ASSERTION_MAX_LIFETIME_SECONDS,
    admin: { port: env.ADMIN_PORT, host: env.ADMIN_HOST, token: env.ADMIN_TOKEN },
    trustProxy: env.TRUST_PROXY,
    trustedProxyHops: env.TRUSTED_PROXY_HOPS,
    configFile,
    resourceServers,
    accessTokenSigningAlg: env.ACCESS_TOKEN_SIGNING_ALG,
    refreshTokenIdleTtl: env.REFRESH_TOKEN_IDLE_TTL,
    signingKeys: {
      publishDelaySeconds: env.SIGNING_KEY_PUBLISH_DELAY_SECONDS,
      pollIntervalSeconds: env.SIGNING_KEY_POLL_INTERVAL_SECONDS,
      jwksCacheMaxAgeSeconds: env.JWKS_CACHE_MAX_AGE_SECONDS,
    },
    scopeRoleRequirements: parseJson('SCOPE_ROLE_REQUIREMENTS', env.SCOPE_ROLE_REQUIREMENTS, scopeRoleSchema) ?? {},
    configuredSigningKeys: parseJson('SIGNING_KEYS', env.SIGNING_KEYS, signingKeysSchema)?.keys ?? [],
  };
}

function randomCookieKey(): string {
  return crypto.getRandomValues(Buffer.alloc(32)).toString('base64url');
}
