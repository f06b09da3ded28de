import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills a child process (a server, FerretDB) should this process exit before stopping it: after an
 * uncaught error or a signal, a leftover child keeps its port, and any stderr it shares with us, which
 * leaves a caller reading that output waiting for ever. 'exit' listeners must be synchronous; kill is.
 * It lives here, not in a module of its own, because jest's global setup loads this file directly with
 * Node's type stripping, where a relative import would need a .ts extension that tsc refuses.
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

/** The repository root, found by walking up: this file also runs compiled, from dist/test/support (bench). */
function findRepositoryRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    if (existsSync(join(directory, 'scripts', 'ensure-ferretdb.sh'))) return directory;
    directory = join(directory, '..');
  }
  throw new Error('repository root (scripts/ensure-ferretdb.sh) not found');
}

const repositoryRoot = findRepositoryRoot();

/** Path of the FerretDB binary, building it (minutes, once) when the cache lacks it. */
export function ferretDbBinary(): string {
  try {
    return execFileSync('bash', [join(repositoryRoot, 'scripts', 'ensure-ferretdb.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } catch {
    throw new Error(
      'No MongoDB-wire server for the tests: set MONGODB_URI to a MongoDB server, or install Go so ' +
        'scripts/ensure-ferretdb.sh can build FerretDB v1.24.2 (see README, "How tests find MongoDB").',
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`FerretDB did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** A FerretDB process (SQLite backend) on a free loopback port with its own data directory. */
export class FerretDbProcess {
  #child: ChildProcess | undefined;
  readonly dataDirectory = mkdtempSync(join(tmpdir(), 'authtoken-ferretdb-'));
  readonly binary: string;
  readonly port: number;

  // Plain fields, not parameter properties: jest's global setup loads this file with Node's type
  // stripping, which accepts only erasable TypeScript syntax.
  private constructor(binary: string, port: number) {
    this.binary = binary;
    this.port = port;
  }

  static async start(): Promise<FerretDbProcess> {
    const ferret = new FerretDbProcess(ferretDbBinary(), await freePort());
    await ferret.resume();
    return ferret;
  }

  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  /** Starts (again) on the same port and data: what a database restart looks like to the server. */
  async resume(): Promise<void> {
    this.#child = spawn(
      this.binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${this.dataDirectory}/`,
        `--listen-addr=127.0.0.1:${this.port}`,
        `--state-dir=${this.dataDirectory}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    );
    killOnExit(this.#child);
    await waitForPort(this.port, 15000);
  }

  /** Stops the process, keeping its data. */
  async halt(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.#child = undefined;
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dataDirectory, { recursive: true, force: true });
  }
}
