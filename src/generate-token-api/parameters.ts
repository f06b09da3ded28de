import { z } from 'zod';

/** What a caller of the Generate Token API asks for, once checked. */
export type GenerateTokenRequest =
  | {
      kind: 'password';
      customerId: string;
      password: string;
      email: string;
      country: string;
      scope: string;
      otp?: string;
    }
  | { kind: 'second-factor'; mfaToken: string; otp?: string; recoveryCode?: string };

export type ParsedRequest = { ok: true; request: GenerateTokenRequest } | { ok: false; message: string };

const MAX_FIELD = 512;
const field = z.string().trim().min(1).max(MAX_FIELD);
const passwordStep = z.object({
  customerId: field,
  key: field,
  email: z.email().max(254),
  country: z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  scope: z.string().trim().min(1).max(1024),
  otp: z.string().regex(/^\d{6,8}$/, 'must be 6 to 8 digits').optional(),
});
const secondFactorStep = z
  .object({
    mfaToken: field,
    otp: z.string().regex(/^\d{6,8}$/, 'must be 6 to 8 digits').optional(),
    recoveryCode: field.optional(),
  })
  .refine((value) => (value.otp === undefined) !== (value.recoveryCode === undefined), { message: "exactly one of 'otp' or 'recoveryCode' is required" });

/** Strict base64 (standard or URL alphabet, padding optional) of a UTF-8 password; undefined when it is not. */
export function decodeKey(key: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(key) || key.replace(/=+$/, '').length % 4 === 1) return undefined;
  const bytes = Buffer.from(key.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Every parameter name either step reads. */
const PARAMETER_NAMES = ['customerId', 'key', 'email', 'country', 'scope', 'otp', 'mfaToken', 'mfa_token', 'recoveryCode', 'recovery_code'];

function isAbsentOrText(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'string';
}

/** The first value of a parameter given as a string (query strings may repeat a name). */
function text(input: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = input[name];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return undefined;
}

/**
 * Reads the request in the product's parameter names (camelCase; snake_case accepted for the second step so
 * an `mfa_token` from the 403 answer can be sent back as it came). Messages name the parameter, never its value.
 */
export function parseGenerateTokenRequest(input: Record<string, unknown>): ParsedRequest {
  const notText = PARAMETER_NAMES.find((name) => !isAbsentOrText(input[name]));
  // A value that is there but no string (a JSON number or object, a name repeated in a query string) is not
  // "missing": say what is wrong with it.
  if (notText !== undefined) return { ok: false, message: `invalid parameter '${notText}': must be given once, as a string` };
  const mfaToken = text(input, 'mfaToken', 'mfa_token');
  if (mfaToken !== undefined) {
    const parsed = secondFactorStep.safeParse({ mfaToken, otp: text(input, 'otp'), recoveryCode: text(input, 'recoveryCode', 'recovery_code') });
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    return { ok: true, request: { kind: 'second-factor', ...definedOnly(parsed.data) } };
  }
  const parsed = passwordStep.safeParse({
    customerId: text(input, 'customerId'),
    key: text(input, 'key'),
    email: text(input, 'email'),
    country: text(input, 'country'),
    scope: text(input, 'scope'),
    otp: text(input, 'otp'),
  });
  if (!parsed.success) return { ok: false, message: describe(parsed.error) };
  const password = decodeKey(parsed.data.key);
  if (password === undefined) return { ok: false, message: "invalid parameter 'key': must be the password, base64-encoded" };
  const { key: _key, ...rest } = parsed.data;
  return { ok: true, request: { kind: 'password', ...definedOnly(rest), password, country: rest.country.toUpperCase() } };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  const name = issue?.path.join('.');
  if (!issue || !name) return issue?.message ?? 'invalid request';
  return issue.code === 'invalid_type' ? `missing required parameter '${name}'` : `invalid parameter '${name}': ${issue.message}`;
}

function definedOnly<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
