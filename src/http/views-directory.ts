import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's views/ folder, found from here whether running from src/ (tests) or dist/src/. */
export function viewsDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    const candidate = join(directory, 'views');
    if (existsSync(join(candidate, 'site.css'))) return candidate;
    directory = resolve(directory, '..');
  }
  throw new Error('views/ folder not found');
}
