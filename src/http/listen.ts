import type { Server } from 'node:http';

/** Why a listen failed, in the operator's terms; the errors a wrong PORT/HOST pair gives. */
const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: 'is already in use (another process listens there)',
  EACCES: 'may not be listened on by this user (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/**
 * Listens on host:port. Node's own error ("listen EADDRINUSE: address already in use 127.0.0.1:3000") named
 * neither variable, and the public and admin ports failed alike: the error names the pair that was set.
 */
export function listen(server: Server, port: number, host: string, variables: { port: string; host: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code ? LISTEN_FAILURES[error.code] : undefined;
      const variable = error.code === 'EADDRNOTAVAIL' ? variables.host : variables.port;
      reject(reason ? new Error(`${variable}: ${host}:${port} ${reason}`, { cause: error }) : error);
    });
    server.listen(port, host, () => resolve());
  });
}
