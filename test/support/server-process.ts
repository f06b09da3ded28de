import { spawn, type ChildProcess } from 'node:child_process';

/** The real server (`dist/src/main.js`) as a separate process, on the project's Node 24. */
export class ServerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
    let pending = '';
    const collect = (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts.filter(Boolean));
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts the server and resolves once it logs that it listens (rejects if it exits first). */
  static async start(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
    const child = spawn('node_modules/.bin/node', ['dist/src/main.js'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new ServerProcess(child);
    const deadline = Date.now() + timeoutMs;
    while (!server.lines.some((line) => line.includes('"authtoken-server listening"'))) {
      const exited = await Promise.race([server.exited, new Promise<false>((resolve) => setTimeout(() => resolve(false), 50))]);
      if (exited) throw new Error(`server exited during start (${JSON.stringify(exited)}):\n${server.lines.join('\n')}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server did not start within ${timeoutMs} ms:\n${server.lines.join('\n')}`);
      }
    }
    return server;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** Ends the process if a test failed before stopping it. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
  }
}
