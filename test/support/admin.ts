import { randomBytes } from 'node:crypto';

/** A fresh admin token per test file (the server requires 32+ characters). */
export const TEST_ADMIN_TOKEN = randomBytes(32).toString('base64url');

export interface AdminResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Calls the admin API with JSON, authenticated with `token` (TEST_ADMIN_TOKEN unless given; null = none). */
export async function adminRequest(
  adminUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<AdminResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TEST_ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${adminUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Non-JSON answers (metrics) stay text.
  }
  return { status: response.status, body, headers: response.headers };
}
