import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

/**
 * Field names whose values are secrets wherever they appear in a log object. Logging code should not put
 * secrets in log objects at all; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'password',
  'client_secret',
  'clientSecret',
  'otp',
  'code',
  'recovery_code',
  'mfa_token',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'key',
  'authorization',
  'cookie',
  '*.password',
  '*.client_secret',
  '*.otp',
  '*.mfa_token',
  '*.token',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** Structured JSON logs (pino) with secrets redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'authtoken-server' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
