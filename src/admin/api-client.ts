/** A failed admin API call, as one line an operator can act on. */
export class AdminClientError extends Error {
  override name = 'AdminClientError';
}

interface ErrorBody {
  error?: unknown;
  error_description?: unknown;
  fields?: unknown;
}

/**
 * `error: description (field: problem; ...)`, each thing said once: a field problem the description already
 * states (a single refusal, where the API names the field in both) is not repeated, and `_` (the body
 * itself) is not shown as a field name.
 */
function describeFailure(status: number, body: unknown): string {
  const { error, error_description: description, fields } = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
  let line = typeof error === 'string' ? `${error}` : `HTTP ${status}`;
  const said = typeof description === 'string' ? description : '';
  if (said) line += `: ${said}`;
  const unsaid = Object.entries(typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : {})
    .map(([field, problems]) => [field, (Array.isArray(problems) ? problems : []).filter((problem): problem is string => typeof problem === 'string' && !said.includes(problem))] as const)
    .filter(([, problems]) => problems.length > 0)
    .map(([field, problems]) => (field === '_' ? problems.join(', ') : `${field}: ${problems.join(', ')}`));
  if (unsaid.length > 0) line += ` (${unsaid.join('; ')})`;
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
