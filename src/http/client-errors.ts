import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { apiSecurityHeaders } from './security-headers.js';

/**
 * How long a refused connection may go on delivering what its client still sends after the answer. Closing a
 * socket with unread bytes makes the kernel reset the connection, and a reset can discard the answer before the
 * client reads it: the bytes are drained until the client closes, or for this long at most.
 */
const LINGER_MS = 2_000;

interface Refusal {
  status: number;
  description: string;
}

const MALFORMED: Refusal = { status: 400, description: 'the request is not valid HTTP/1.1' };

/** Node's own choice of status per parser error (lib/_http_server.js), each with a sentence saying what was wrong. */
const REFUSALS: Readonly<Record<string, Refusal>> = {
  HPE_HEADER_OVERFLOW: { status: 431, description: 'the request headers are too large' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, description: 'the chunk extensions of the request body are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, description: 'the request did not arrive in time' },
  HPE_INVALID_METHOD: { status: 400, description: 'the request method is not valid' },
  HPE_INVALID_URL: { status: 400, description: 'the request target is not valid' },
  HPE_INVALID_VERSION: { status: 400, description: 'the HTTP version is not valid' },
  HPE_INVALID_HEADER_TOKEN: { status: 400, description: 'a request header is malformed' },
  HPE_INVALID_CONTENT_LENGTH: { status: 400, description: 'the Content-Length header is not valid' },
  HPE_UNEXPECTED_CONTENT_LENGTH: { status: 400, description: 'the request has both Content-Length and Transfer-Encoding' },
  HPE_INVALID_TRANSFER_ENCODING: { status: 400, description: 'the Transfer-Encoding header is not valid' },
  HPE_INVALID_CHUNK_SIZE: { status: 400, description: 'the chunked request body is malformed' },
};

function refusalFor(error: Error): Refusal {
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && REFUSALS[code]) || MALFORMED;
}

/** The answer as bytes: written straight to the socket, since there is no request or response object yet. */
function answerBytes({ status, description }: Refusal, securityHeaders: readonly [string, string][]): Buffer {
  // The description only: never the request's bytes (err.rawPacket), which are the caller's, not ours to echo.
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  const headers: [string, string | number][] = [
    ['Date', new Date().toUTCString()],
    ['Content-Type', 'application/json; charset=utf-8'],
    ['Content-Length', Buffer.byteLength(body)],
    ['Cache-Control', 'no-store'],
    ['Pragma', 'no-cache'],
    ...securityHeaders,
    ['Connection', 'close'],
  ];
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.from(head + body, 'utf8');
}

/** The response Node is answering the connection's previous request with, if any (undocumented but stable). */
function responseInFlight(socket: Duplex): ServerResponse | null | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
}

/**
 * The 'clientError' listener for our HTTP servers. Node answers a request its parser refuses (a broken request
 * line, headers too large or malformed, headers too slow) with a bare status line and no body; this answers with
 * the same status as a complete response in RFC 6749 JSON, like every other refusal, and closes the connection.
 * The security headers are the JSON endpoints' set without HSTS: browsers learn HSTS from every answer the
 * application serves, and whether the issuer is https is not known where tests create their server.
 */
export function answerClientErrors(): (error: Error, socket: Duplex) => void {
  const securityHeaders = apiSecurityHeaders(false);
  // The parser reports again for bytes arriving after its first error: one answer per connection.
  const answered = new WeakSet<Duplex>();
  return function answerClientError(error: Error, socket: Duplex): void {
    if (answered.has(socket)) return;
    answered.add(socket);
    const inFlight = responseInFlight(socket);
    // A gone peer, or an answer to an earlier request already under way: any bytes now would corrupt it.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(answerBytes(refusalFor(error), securityHeaders));
    if (inFlight) {
      // That earlier request's answer is still to come and must not follow ours: close now, as Node does.
      socket.destroy();
      return;
    }
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
