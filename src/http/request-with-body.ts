import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * A request on the caller's connection with its own method, URL, headers and an unread `body`: everything
 * not named here (socket, TLS state, remote address) is read through to `original`, which is never written
 * to. The body is served by the one stream method oidc-provider's body reader uses (`iterator`), so the
 * provider reads and checks it as it reads any request.
 */
export function requestWithBody(
  original: IncomingMessage,
  { method, url, headers, body }: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
): IncomingMessage {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield body;
  }
  let read = false;
  // Every view of the headers is this request's own: none may show a header of the original left out here.
  const fields = Object.entries(headers).flatMap(([name, value]) =>
    value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((one) => [name, one] as const),
  );
  const request: IncomingMessage = Object.create(original, {
    method: { value: method, writable: true },
    url: { value: url, writable: true },
    headers: { value: headers, writable: true },
    rawHeaders: { value: fields.flat() },
    headersDistinct: {
      value: Object.fromEntries(Object.keys(headers).map((name) => [name, fields.filter(([field]) => field === name).map(([, value]) => value)])),
    },
    readableEncoding: { value: null },
    readable: { get: () => !read },
    iterator: {
      value: () => {
        read = true;
        return chunks();
      },
    },
  });
  return request;
}
