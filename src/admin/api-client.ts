/** A failed admin API call, as one line an operator can act on. */
export class AdminClientError extends Error {
  override name = 'AdminClientError';
}

interface ErrorBody {
  error?: unknown;
  error_description?: unknown;
  fields?: Record<string, string[]>;
}

function describeFailure(status: number, body: unknown): string {
  const { error, error_description: description, fields } = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
  let line = typeof error === 'string' ? `${error}` : `HTTP ${status}`;
  if (typeof description === 'string') line += `: ${description}`;
  if (fields) line += ` (${Object.entries(fields).map(([field, problems]) => `${field}: ${problems.join(', ')}`).join('; ')})`;
  return line;
}

/** The admin REST API over HTTP, for the `authtoken` CLI and scripts. */
export class AdminApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new AdminClientError(`cannot reach the admin API at ${this.baseUrl} (${reason})`, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw new AdminClientError(describeFailure(response.status, parsed));
    return parsed as T;
  }
}
