import { readFileSync } from 'node:fs';

import { CONFIG_FILE_VARIABLE, CONFIG_KEYS, configDefaults } from '../../src/config/index.js';

interface DocumentedRow {
  variables: string[];
  defaults: string;
}

/** The rows of the tables under README.md's "## Configuration" (up to the next level-2 heading). */
function documentedRows(): DocumentedRow[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  const end = readme.indexOf('\n## ', start + 1);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [variables = '', defaults = ''] = line.slice(1).split(/(?<!\\)\|/).map((cell) => cell.trim());
      return { variables: [...variables.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] ?? ''), defaults };
    });
}

describe("README.md's configuration table", () => {
  const rows = documentedRows();
  const defaults = configDefaults();

  test('names exactly the variables the config module reads', () => {
    const documented = rows.flatMap((row) => row.variables).sort();
    const read = [...CONFIG_KEYS, CONFIG_FILE_VARIABLE].sort();
    expect(documented).toEqual(read);
  });

  test("gives each fixed default as the config module's (rows naming several: `a` / `b` in order)", () => {
    const wrong = rows.flatMap((row) => {
      const cells = row.variables.length > 1 ? row.defaults.split(' / ') : [row.defaults];
      return row.variables
        .map((variable, index) => ({ variable, expected: defaults[variable], cell: cells[index] ?? '' }))
        .filter(({ expected, cell }) => expected !== undefined && !cell.includes(`\`${expected}\``));
    });
    expect(wrong).toEqual([]);
  });
});
