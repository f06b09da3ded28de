import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes no HTTP client would send (a broken request line, an oversized or malformed header) over a plain
 * TCP connection to `baseUrl`, and resolves with the answer once the server has closed the connection. Rejects
 * if the connection is still open after `closeWithinMs`: an answer that leaves it open is a failure too.
 */
export function sendRawRequest(baseUrl: string, request: string, closeWithinMs = 5_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${closeWithinMs} ms; received: ${Buffer.concat(chunks).toString('latin1')}`));
    }, closeWithinMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'end': the server's FIN, after which nothing more can arrive.
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.write(request, 'latin1');
  });
}

function parseAnswer(raw: string): RawAnswer {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`not an HTTP answer: ${JSON.stringify(raw)}`);
  const [statusLine = '', ...headerLines] = raw.slice(0, headEnd).split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  if (!status) throw new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), headers, body: raw.slice(headEnd + 4) };
}
