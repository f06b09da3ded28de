#!/usr/bin/env node
// Launcher for the `authtoken` CLI. `npx authtoken` starts this file with whatever `node` is first on PATH
// (often the machine's older one), while the CLI is built for the project's Node 24, which npm installs
// at node_modules/.bin/node. So: run the compiled CLI in this process when it is Node 24 or later,
// otherwise re-run it under the project's Node. Plain JavaScript, so it runs on any Node from 18 on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MINIMUM_NODE_MAJOR = 24;
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = join(root, 'dist', 'src', 'admin', 'cli.js');

function fail(reason) {
  process.stderr.write(`authtoken: ${reason}\n`);
  process.exit(1);
}

if (!existsSync(cli)) fail(`the CLI is not built (${cli} is missing): run npm run build`);

if (Number(process.versions.node.split('.')[0]) >= MINIMUM_NODE_MAJOR) {
  await import(pathToFileURL(cli).href);
} else {
  const projectNode = join(root, 'node_modules', '.bin', 'node');
  if (!existsSync(projectNode)) {
    fail(`Node.js ${MINIMUM_NODE_MAJOR}+ is required (running ${process.versions.node}) and ${projectNode} is missing: run npm install`);
  }
  const result = spawnSync(projectNode, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.error) fail(`cannot start ${projectNode}: ${result.error.message}`);
  if (result.signal) process.kill(process.pid, result.signal);
  process.exit(result.status ?? 1);
}
