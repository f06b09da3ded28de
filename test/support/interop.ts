import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENSURE_SCRIPT = join(repositoryRoot, 'scripts', 'ensure-interop-clients.sh');

export type InteropClient = 'go' | 'python';

const PROVIDING: Record<InteropClient, string> = {
  go: 'install Go (1.26 or later; the Go module proxy must be reachable for golang.org/x/oauth2)',
  python: 'install Python 3 with venv and pip (PyPI must be reachable for the pinned authlib and requests)',
};

/**
 * The interop program for one standard client library: the Go binary, or the venv's python. Built once into
 * a cache outside the repo by scripts/ensure-interop-clients.sh (the first time: tens of seconds); without
 * the toolchain or the registry, the test fails saying so, never skips.
 */
export function interopClient(client: InteropClient): string {
  try {
    return execFileSync('bash', [ENSURE_SCRIPT, client], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `The ${client} interop client could not be built: ${PROVIDING[client]}, then run \`bash scripts/ensure-interop-clients.sh ${client}\` ` +
        `(see README, "Standard client libraries").\n${stderr}`,
      { cause: error },
    );
  }
}

/** Runs an interop program with `env` added, within `timeoutMs`, and parses the one JSON object it prints. */
export function runInteropClient(command: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${command} failed (${error.signal ? `killed by ${error.signal} after ${timeoutMs} ms` : `exit ${String(error.code)}`}):\n${stderr}\n${stdout}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        reject(new Error(`${command} printed no JSON object:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** What an interop program reports of one step: the token the library got, or the failure it saw instead. */
interface InteropOutcome {
  token?: unknown;
  error?: unknown;
}

/** The token of a step, or a failure that shows what the library saw instead. */
export function tokenOf<Token>(outcome: unknown): Token {
  const { token, error } = (outcome ?? {}) as InteropOutcome;
  if (!token) throw new Error(`expected a token, the library saw: ${JSON.stringify(error ?? outcome)}`);
  return token as Token;
}

/** The failure of a step, or an error that shows the token the library got instead. */
export function errorOf<Failure>(outcome: unknown): Failure {
  const { token, error } = (outcome ?? {}) as InteropOutcome;
  if (!error) throw new Error(`expected an error, the library got a token: ${JSON.stringify(token ?? outcome)}`);
  return error as Failure;
}
