/**
 * Bursts of sign-in attempts sent at once, which must count like attempts sent one after another: each limit
 * is reserved before the password or code is checked (argon2 takes long enough for a burst to race).
 */
export const BURST_SIZE = 20;
/** SIGNIN_FREE_FAILURES in the burst tests: at most this many plus one attempts of a burst are checked. */
export const BURST_FREE_FAILURES = 3;

/**
 * Server settings for a burst test: a backoff the burst cannot outlast, however slow the machine (later checks
 * would be sequential ones), and per-IP rate limits far above the burst (they are not what is tested).
 */
export const BURST_THROTTLE_ENV: Readonly<Record<string, string>> = {
  SIGNIN_FREE_FAILURES: String(BURST_FREE_FAILURES),
  SIGNIN_BACKOFF_BASE_MS: '60000',
  RATE_LIMIT_PASSWORD_GRANT: '10000',
  RATE_LIMIT_SIGN_IN_PAGES: '10000',
};
