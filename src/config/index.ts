import { z } from 'zod';

/** Raised when the environment holds a value we cannot run with; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A well-known value used only outside production, so `npm start` works with no setup. */
export const DEVELOPMENT_MASTER_KEY = Buffer.from('authtoken-server development key').toString('base64');

const intInRange = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
  STORE_SWEEP_INTERVAL_SECONDS: intInRange(5, 86400).default(60),
  MONGODB_CONNECT_ATTEMPTS: intInRange(1, 100).default(8),
  SHUTDOWN_TIMEOUT_MS: intInRange(100, 120000).default(10000),
  MIGRATION_LEASE_SECONDS: intInRange(10, 86400).default(300),
  CLIENT_CACHE_TTL_MS: intInRange(0, 60000).default(5000),
  CLIENT_CACHE_MAX_ENTRIES: intInRange(0, 1000000).default(10000),
});

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
  demo: { enabled: boolean; clientId: string; clientSecret: string };
  storeSweepIntervalSeconds: number;
  shutdownTimeoutMs: number;
  /** How long an instance waits on another's unfinished migration before taking it over. */
  migrationLeaseSeconds: number;
  /** Client metadata cache: other instances see a changed client within ttlMs (0 disables the cache). */
  clientCache: { ttlMs: number; maxEntries: number };
}

function parseMasterKey(variable: string, id: string, value: string): MasterKey {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')) {
    throw new ConfigError(`${variable}: must be 32 random bytes, base64-encoded (e.g. openssl rand -base64 32)`);
  }
  return { id, key };
}

function isLocalhost(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * Reads and validates configuration from an environment map. Throws ConfigError naming the offending
 * variable; never returns a configuration that would be unsafe in production.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  );
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
  if (issuerUrl.search || issuerUrl.hash) {
    throw new ConfigError('ISSUER: must not contain a query or fragment');
  }

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
    if (!env.MONGODB_URI) throw new ConfigError('MONGODB_URI: required when NODE_ENV=production');
    if (cookieKeys.length === 0) throw new ConfigError('COOKIE_KEYS: required when NODE_ENV=production');
    if (masterKeyIsDevelopment) {
      throw new ConfigError('AUTHTOKEN_MASTER_KEY: required when NODE_ENV=production');
    }
    if (issuerUrl.protocol !== 'https:' && !isLocalhost(issuerUrl)) {
      throw new ConfigError('ISSUER: must be https when NODE_ENV=production (localhost excepted)');
    }
  }

  const apiScopes = env.API_SCOPES.split(' ');
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
    defaultResource: env.DEFAULT_RESOURCE ?? `${issuer}/api`,
    apiScopes,
    demo: { enabled: demoEnabled, clientId: env.DEMO_CLIENT_ID, clientSecret: env.DEMO_CLIENT_SECRET },
    storeSweepIntervalSeconds: env.STORE_SWEEP_INTERVAL_SECONDS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    migrationLeaseSeconds: env.MIGRATION_LEASE_SECONDS,
    clientCache: { ttlMs: env.CLIENT_CACHE_TTL_MS, maxEntries: env.CLIENT_CACHE_MAX_ENTRIES },
  };
}

function randomCookieKey(): string {
  return crypto.getRandomValues(Buffer.alloc(32)).toString('base64url');
}
