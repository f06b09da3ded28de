import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CONFIG_KEYS, ConfigError, loadConfig } from '../../src/config/index.js';

const directory = mkdtempSync(join(tmpdir(), 'authtoken-config-'));
function file(name: string, content: string): string {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
}

describe('AUTHTOKEN_CONFIG files', () => {
  test('YAML: values are read, lists become the env form, and the environment wins key by key', () => {
    const path = file('a.yaml', 'PORT: 4000\nADMIN_PORT: 4001\nTRUST_PROXY: true\nAPI_SCOPES:\n  - orders:read\n  - orders:write\nLOG_LEVEL: warn\n');
    const config = loadConfig({ AUTHTOKEN_CONFIG: path, LOG_LEVEL: 'error' });
    expect(config.port).toBe(4000);
    expect(config.admin.port).toBe(4001);
    expect(config.trustProxy).toBe(true);
    expect(config.apiScopes).toEqual(['orders:read', 'orders:write']);
    expect(config.logLevel).toBe('error');
    expect(config.configFile).toBe(path);
  });

  test('JSON works the same way', () => {
    const path = file('b.json', JSON.stringify({ PORT: 4100, COOKIE_KEYS: ['k'.repeat(32), 'l'.repeat(32)] }));
    const config = loadConfig({ AUTHTOKEN_CONFIG: path });
    expect(config.port).toBe(4100);
    expect(config.cookieKeys).toEqual(['k'.repeat(32), 'l'.repeat(32)]);
  });

  test('an invalid value in the file is refused naming the option', () => {
    const path = file('c.yaml', 'ADMIN_PORT: 70000\n');
    expect(() => loadConfig({ AUTHTOKEN_CONFIG: path })).toThrow(new ConfigError('ADMIN_PORT: must be a whole number from 0 to 65535 (digits only, no unit)'));
  });

  test.each([
    ['an unknown key', 'd.yaml', 'PROT: 3000\n', /AUTHTOKEN_CONFIG: .*d\.yaml: unknown option PROT$/],
    ['a nested value', 'e.yaml', 'PORT:\n  value: 3\n', /PORT must be a string, number, boolean or list of strings$/],
    ['not a mapping', 'f.yaml', '- PORT\n', /must hold a mapping/],
    ['malformed YAML', 'g.yaml', 'PORT: [\n', /is not valid YAML$/],
    ['malformed JSON', 'h.json', '{"PORT": ', /is not valid JSON$/],
  ])('%s is a ConfigError naming AUTHTOKEN_CONFIG', (_label, name, content, message) => {
    const path = file(name, content);
    expect(() => loadConfig({ AUTHTOKEN_CONFIG: path })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTHTOKEN_CONFIG: path })).toThrow(message);
  });

  test('a missing file is a ConfigError', () => {
    expect(() => loadConfig({ AUTHTOKEN_CONFIG: join(directory, 'missing.yaml') })).toThrow(/^AUTHTOKEN_CONFIG: cannot read .*missing\.yaml \(ENOENT\)$/);
  });

  test('ADMIN_TOKEN must be long; TRUST_PROXY is off and the admin API local by default', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'short' })).toThrow(/^ADMIN_TOKEN: must be at least 32 characters/);
    const config = loadConfig({});
    expect(config.trustProxy).toBe(false);
    expect(config.admin).toEqual({ port: 3001, host: '127.0.0.1', token: undefined });
  });
});

describe('config/authtoken.example.yaml', () => {
  const example = 'config/authtoken.example.yaml';

  test('is a valid production configuration once the secrets come from the environment', () => {
    const config = loadConfig({
      AUTHTOKEN_CONFIG: example,
      AUTHTOKEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      COOKIE_KEYS: 'c'.repeat(40),
      ADMIN_TOKEN: 'a'.repeat(40),
    });
    expect(config.isProduction).toBe(true);
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.admin.token).toBe('a'.repeat(40));
  });

  test('documents every option (commented out or set)', () => {
    const text = readFileSync(example, 'utf8');
    const missing = [...CONFIG_KEYS].filter((key) => !new RegExp(`^#? ?${key}:`, 'm').test(text));
    expect(missing).toEqual([]);
  });
});

describe('config/example.env', () => {
  const entries = readFileSync('config/example.env', 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z]/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);

  test('sets only real options', () => {
    expect(entries.map(([key]) => key).filter((key) => !CONFIG_KEYS.has(key))).toEqual([]);
  });

  test('is a valid production configuration once its empty secrets are filled in', () => {
    const filled: Record<string, string> = { AUTHTOKEN_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), COOKIE_KEYS: 'c'.repeat(40) };
    const config = loadConfig(Object.fromEntries(entries.map(([key, value]) => [key, value === '' ? (filled[key] ?? '') : value])));
    expect(config.isProduction).toBe(true);
  });
});
