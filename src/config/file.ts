import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

import { parse as parseYaml } from 'yaml';

/**
 * Reads an AUTHTOKEN_CONFIG file: a JSON or YAML mapping whose keys are the environment variable names
 * (PORT, MONGODB_URI, ...) and whose values are scalars. Keeping the env names means one table documents
 * both forms and the environment can override any key. Unknown keys are refused so a typo is not silently
 * ignored. Throws Error with a message meant for the operator; the caller wraps it in a ConfigError.
 */
export function readConfigFile(path: string, knownKeys: ReadonlySet<string>): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`cannot read ${path} (${code})`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch {
    throw new Error(`${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${path} must hold a mapping of option names to values`);

  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!knownKeys.has(key)) throw new Error(`${path}: unknown option ${key}`);
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      // Lists read better in YAML; the env form of every list option is comma-separated except API_SCOPES.
      values[key] = value.join(key === 'API_SCOPES' ? ' ' : ',');
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values[key] = String(value);
    } else {
      throw new Error(`${path}: ${key} must be a string, number, boolean or list of strings`);
    }
  }
  return values;
}
