import { ConfigError, loadConfig } from '../../src/config/index.js';

const productionBase = {
  NODE_ENV: 'production',
  MONGODB_URI: 'mongodb://db.internal:27017/authtoken',
  COOKIE_KEYS: 'a-cookie-key-of-at-least-thirty-two-chars',
  AUTHTOKEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  ISSUER: 'https://auth.example.com',
  SMTP_URL: 'smtps://mailer:secret@smtp.example.com:465',
};

describe('configuration', () => {
  test('defaults give a runnable development server on the memory store', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.mongodb).toBeUndefined();
    expect(config.masterKeyIsDevelopment).toBe(true);
    expect(config.accessTokenFormat).toBe('opaque');
    expect(config.demo.enabled).toBe(true);
  });

  test('an invalid value names the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^PORT: /);
    expect(() => loadConfig({ ACCESS_TOKEN_FORMAT: 'paseto' })).toThrow(/^ACCESS_TOKEN_FORMAT: /);
    expect(() => loadConfig({ MONGODB_URI: 'postgres://x' })).toThrow(/^MONGODB_URI: /);
    expect(() => loadConfig({ AUTHTOKEN_MASTER_KEY: 'c2hvcnQ=' })).toThrow(/^AUTHTOKEN_MASTER_KEY: /);
    expect(() => loadConfig({ COOKIE_KEYS: 'short' })).toThrow(/^COOKIE_KEYS: /);
  });

  test('a number with a unit, a sign, a fraction or another base is refused with the range wanted; spaces around digits are fine', () => {
    for (const value of ['1h', '-5', '3600.5', '0x100', '1e3', '3600s']) {
      expect(() => loadConfig({ ACCESS_TOKEN_TTL: value })).toThrow(new ConfigError('ACCESS_TOKEN_TTL: must be a whole number from 60 to 86400 (digits only, no unit)'));
    }
    expect(() => loadConfig({ PORT: '-1' })).toThrow(new ConfigError('PORT: must be a whole number from 0 to 65535 (digits only, no unit)'));
    expect(loadConfig({ ACCESS_TOKEN_TTL: ' 900 ' }).ttl.accessToken).toBe(900);
  });

  test('LOG_LEVEL and switches are read in any case; anything else is refused saying what is taken', () => {
    expect(loadConfig({ LOG_LEVEL: 'INFO' }).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel).toBe('debug');
    expect(() => loadConfig({ LOG_LEVEL: 'warning' })).toThrow(new ConfigError('LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (any case)'));
    for (const [value, expected] of [['TRUE', true], ['Yes', true], ['1', true], ['False', false], ['NO', false], ['0', false]] as const) {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
    }
    expect(() => loadConfig({ REQUIRE_MFA: 'on' })).toThrow(new ConfigError('REQUIRE_MFA: must be true or false (also 1/0, yes/no; any case)'));
  });

  test('MONGODB_URI: a connection string the driver cannot parse is refused naming the variable, never echoing the password', () => {
    for (const uri of ['mongodb://operator:pa55@word@db.internal/authtoken', 'mongodb://db.internal:port/authtoken', 'mongodb://db.internal/authtoken?tls=perhaps']) {
      const attempt = () => loadConfig({ MONGODB_URI: uri });
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(/^MONGODB_URI: not a valid connection string: /);
      expect(attempt).not.toThrow(/pa55/);
    }
    expect(loadConfig({ MONGODB_URI: 'mongodb+srv://operator:p%40ss@cluster0.example.net/authtoken?retryWrites=true' }).mongodb?.uri).toContain('cluster0');
    expect(loadConfig({ MONGODB_URI: 'mongodb://db1:27017,db2:27017/authtoken?replicaSet=rs0' }).mongodb).toBeDefined();
  });

  test('a complete production configuration is accepted', () => {
    const config = loadConfig(productionBase);
    expect(config.isProduction).toBe(true);
    expect(config.demo.enabled).toBe(false);
  });

  test.each([
    ['MONGODB_URI', { MONGODB_URI: undefined }],
    ['COOKIE_KEYS', { COOKIE_KEYS: undefined }],
    ['AUTHTOKEN_MASTER_KEY', { AUTHTOKEN_MASTER_KEY: undefined }],
    ['ISSUER', { ISSUER: 'http://auth.example.com' }],
  ])('production refuses to start without a proper %s', (variable, override) => {
    const attempt = () => loadConfig({ ...productionBase, ...override });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(new RegExp(`^${variable}: `));
  });

  test('production names every missing required variable in its one line, with how to make each', () => {
    const attempt = () => loadConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com', SMTP_URL: productionBase.SMTP_URL });
    expect(attempt).toThrow(/^MONGODB_URI: required when NODE_ENV=production \(.*mongodb:\/\/.*\)/);
    expect(attempt).toThrow(/; also COOKIE_KEYS \(e\.g\. \$\(openssl rand -base64 48\)\); also AUTHTOKEN_MASTER_KEY \(\$\(openssl rand -base64 32\)/);
    const { AUTHTOKEN_MASTER_KEY: _key, COOKIE_KEYS: _cookies, ...withoutSecrets } = productionBase;
    expect(() => loadConfig(withoutSecrets)).toThrow(/^COOKIE_KEYS: required when NODE_ENV=production \(.*\); also AUTHTOKEN_MASTER_KEY /);
  });

  test('ISSUER: a query, a fragment or a path is refused; a trailing slash is dropped', () => {
    expect(() => loadConfig({ ISSUER: 'https://auth.example.com/?tenant=a' })).toThrow(/^ISSUER: must not contain a query or fragment/);
    expect(() => loadConfig({ ISSUER: 'https://auth.example.com/#top' })).toThrow(/^ISSUER: must not contain a query or fragment/);
    expect(() => loadConfig({ ISSUER: 'https://example.com/auth' })).toThrow(/^ISSUER: must have no path/);
    expect(loadConfig({ ISSUER: 'https://auth.example.com/' }).issuer).toBe('https://auth.example.com');
  });

  test('ISSUER: only http and https; a missing scheme is named as such, not as a path', () => {
    // `localhost:3000` parses as a URL with scheme `localhost:` and path `3000`.
    expect(() => loadConfig({ ISSUER: 'localhost:3000' })).toThrow(/^ISSUER: must be an http:\/\/ or https:\/\/ URL/);
    // oidc-provider refused this one only after the store was opened, in words that did not name ISSUER.
    expect(() => loadConfig({ ISSUER: 'ftp://auth.example.com' })).toThrow(/^ISSUER: must be an http:\/\/ or https:\/\/ URL/);
    expect(loadConfig({ ISSUER: 'http://127.0.0.1:3000' }).issuer).toBe('http://127.0.0.1:3000');
  });

  test('production accepts a plain-http localhost issuer (for local trials)', () => {
    expect(() => loadConfig({ ...productionBase, ISSUER: 'http://localhost:3000' })).not.toThrow();
  });

  test('demo data is never seeded in production, whatever DEMO_SEED says', () => {
    expect(loadConfig({ ...productionBase, DEMO_SEED: 'true' }).demo.enabled).toBe(false);
  });

  test('demo data goes into a persistent store only when DEMO_SEED=true', () => {
    expect(loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:1/' }).demo.enabled).toBe(false);
    expect(loadConfig({ MONGODB_URI: 'mongodb://127.0.0.1:1/', DEMO_SEED: 'true' }).demo.enabled).toBe(true);
  });

  test('production with email MFA refuses to start without SMTP_URL, unless email MFA is off', () => {
    const { SMTP_URL: _smtp, ...withoutSmtp } = productionBase;
    expect(() => loadConfig(withoutSmtp)).toThrow(/^SMTP_URL: /);
    expect(loadConfig({ ...withoutSmtp, MFA_EMAIL_ENABLED: 'false' }).mfa.emailEnabled).toBe(false);
  });

  test('argon2 cost below the OWASP minimum is refused', () => {
    expect(() => loadConfig({ ARGON2_MEMORY_KIB: '4096' })).toThrow(/^ARGON2_MEMORY_KIB: /);
    expect(() => loadConfig({ ARGON2_TIME_COST: '1' })).toThrow(/^ARGON2_TIME_COST: /);
  });

  test('dashboard sign-up: on outside production, off in production unless asked for, and then only with mail', () => {
    expect(loadConfig({}).dashboard).toMatchObject({ signUp: true, signUpLinkTtlSeconds: 86400 });
    expect(loadConfig({ DASHBOARD_SIGNUP: 'false' }).dashboard.signUp).toBe(false);
    expect(loadConfig(productionBase).dashboard.signUp).toBe(false);
    expect(loadConfig({ ...productionBase, DASHBOARD_SIGNUP: 'true' }).dashboard.signUp).toBe(true);
    const { SMTP_URL: _smtp, ...withoutMail } = productionBase;
    expect(() => loadConfig({ ...withoutMail, MFA_EMAIL_ENABLED: 'false', DASHBOARD_SIGNUP: 'true' })).toThrow(/^SMTP_URL: .*DASHBOARD_SIGNUP/);
    expect(loadConfig({}).rateLimits.signUp).toBe(5);
    expect(() => loadConfig({ SIGNUP_LINK_TTL_SECONDS: '10' })).toThrow(/^SIGNUP_LINK_TTL_SECONDS: /);
  });

  test('DASHBOARD_SUDO_SECONDS: 10 minutes by default; 0 (ask every time) to one hour', () => {
    expect(loadConfig({}).dashboard.sudoSeconds).toBe(600);
    expect(loadConfig({ DASHBOARD_SUDO_SECONDS: '0' }).dashboard.sudoSeconds).toBe(0);
    expect(loadConfig({ DASHBOARD_SUDO_SECONDS: '3600' }).dashboard.sudoSeconds).toBe(3600);
    for (const value of ['-1', '3601', '1.5', 'forever']) {
      expect(() => loadConfig({ DASHBOARD_SUDO_SECONDS: value })).toThrow(/^DASHBOARD_SUDO_SECONDS: /);
    }
  });

  test('TRUSTED_PROXY_HOPS: one proxy by default; a whole number from 1 to 10', () => {
    expect(loadConfig({}).trustedProxyHops).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'true', TRUSTED_PROXY_HOPS: '2' })).toMatchObject({ trustProxy: true, trustedProxyHops: 2 });
    for (const value of ['0', '11', '1.5', 'all']) {
      expect(() => loadConfig({ TRUSTED_PROXY_HOPS: value })).toThrow(/^TRUSTED_PROXY_HOPS: /);
    }
  });

  test('RATE_LIMIT_EMAILS_PER_ADDRESS: 5 an hour by default; 0 turns it off; negative is refused', () => {
    expect(loadConfig({}).rateLimits.emailsPerAddress).toBe(5);
    expect(loadConfig({ RATE_LIMIT_EMAILS_PER_ADDRESS: '0' }).rateLimits.emailsPerAddress).toBe(0);
    expect(() => loadConfig({ RATE_LIMIT_EMAILS_PER_ADDRESS: '-1' })).toThrow(/^RATE_LIMIT_EMAILS_PER_ADDRESS: /);
  });

  test('EMAIL_CODE_MAX_PER_HOUR: 10 codes per account an hour by default; 0 turns the cap off; negative or fractional is refused', () => {
    expect(loadConfig({}).mfa.emailCodeMaxPerHour).toBe(10);
    expect(loadConfig({ EMAIL_CODE_MAX_PER_HOUR: '0' }).mfa.emailCodeMaxPerHour).toBe(0);
    for (const value of ['-1', '2.5', '1001', 'many']) {
      expect(() => loadConfig({ EMAIL_CODE_MAX_PER_HOUR: value })).toThrow(/^EMAIL_CODE_MAX_PER_HOUR: /);
    }
  });

  test('RATE_LIMIT_SIGN_IN_PAGES: 60 per window by default; 0 turns it off; negative is refused', () => {
    expect(loadConfig({}).rateLimits.signInPages).toBe(60);
    expect(loadConfig({ RATE_LIMIT_SIGN_IN_PAGES: '0' }).rateLimits.signInPages).toBe(0);
    expect(() => loadConfig({ RATE_LIMIT_SIGN_IN_PAGES: '-1' })).toThrow(/^RATE_LIMIT_SIGN_IN_PAGES: /);
  });

  test('sign-in session lifetimes: 12 h, or 14 days when remembered; positive whole numbers, remembered never shorter', () => {
    expect(loadConfig({}).signInSession).toEqual({ ttlSeconds: 43200, rememberedTtlSeconds: 1209600 });
    expect(loadConfig({ SIGNIN_SESSION_TTL_SECONDS: '3600', SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: '3600' }).signInSession).toEqual({
      ttlSeconds: 3600,
      rememberedTtlSeconds: 3600,
    });
    for (const value of ['0', '-5', '1.5', 'twelve hours']) {
      expect(() => loadConfig({ SIGNIN_SESSION_TTL_SECONDS: value })).toThrow(/^SIGNIN_SESSION_TTL_SECONDS: /);
      expect(() => loadConfig({ SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: value })).toThrow(/^SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: /);
    }
    const shorterRemembered = () => loadConfig({ SIGNIN_SESSION_TTL_SECONDS: '86400', SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: '3600' });
    expect(shorterRemembered).toThrow(ConfigError);
    expect(shorterRemembered).toThrow(/^SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: .*SIGNIN_SESSION_TTL_SECONDS/);
    // Only the default of the remembered lifetime (14 days) is below this one: refused too, naming the variable.
    expect(() => loadConfig({ SIGNIN_SESSION_TTL_SECONDS: String(30 * 86400) })).toThrow(/^SIGNIN_REMEMBERED_SESSION_TTL_SECONDS: /);
  });
});
