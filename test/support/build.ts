import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * Compiles the project (npm run build) so tests can run the real `dist/` entry points as separate
 * processes: the CLI's bin and the server's main. Always rebuilt, so a test never runs stale output.
 */
export async function buildProject(): Promise<void> {
  await promisify(execFile)('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json'], { cwd: process.cwd(), timeout: 180_000 });
}
