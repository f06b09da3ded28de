import { request, type OutgoingHttpHeaders } from 'node:http';

export interface HostAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as JSON when it is JSON, else as text. */
  body: Record<string, unknown> | string;
}

/**
 * A request over node:http, which (unlike fetch) lets the test choose the Host header: what a client that
 * names another host, or a proxy that passes its upstream name as Host, sends.
 */
export function requestWithHost(
  baseUrl: string,
  host: string,
  path: string,
  options: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<HostAnswer> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  const headers: OutgoingHttpHeaders = { host, ...options.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return send(new URL(path, baseUrl), options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body);
}

/**
 * A GET over node:http with raw header lines (name, value, name, value...), so one header can be sent on two
 * lines, which fetch would join into one.
 */
export function requestWithHeaderLines(baseUrl: string, path: string, lines: string[]): Promise<HostAnswer> {
  const url = new URL(path, baseUrl);
  return send(url, 'GET', [...lines, 'host', url.host], undefined);
}

function send(url: URL, method: string, headers: OutgoingHttpHeaders | string[], body: string | undefined): Promise<HostAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = /^application\/json/.test(String(response.headers['content-type']));
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: isJson ? (JSON.parse(text) as Record<string, unknown>) : text });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
