import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills a child process (a server, FerretDB) should this process exit before stopping it: after an
 * uncaught error or a signal, a leftover child keeps its port, and any stderr it shares with us, which
 * leaves a caller reading that output waiting for ever. 'exit' listeners must be synchronous; kill is.
 */
export function killOnExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const running of children) running.kill('SIGKILL');
    });
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
}
