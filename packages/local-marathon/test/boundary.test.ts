/**
 * The package boundary is a lint rule, not a comment: runtime code under src/ may import only Node built-ins (with the
 * node: prefix) and its own files, so it shares no code with the Marathon client it is a test double for.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '../../..');

/** The repository's eslint (its real config) on `code` as if it were a file of src/: `rule: line` per problem. */
function problems(code: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const bin = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
    const child = spawn(
      process.execPath,
      [bin, '--stdin', '--stdin-filename', 'packages/local-marathon/src/boundary-probe.ts', '--format', 'json'],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const [result] = JSON.parse(out) as { messages: { ruleId: string; line: number }[] }[];
      resolve(result.messages.map((m) => `${m.ruleId}: ${m.line}`));
    });
    child.stdin.end(code);
  });
}

test('src/ may import node: built-ins and its own files, not a package, the repository outside it, its tests, nor require()', async () => {
  const found = await problems(
    [
      "import { Command } from 'commander';",
      "import { MarathonClient } from '../../../lib/marathon/client';",
      "import { start } from '../test/helpers';",
      "const http = require('node:http');",
      "import { join } from 'node:path';",
      "import { isObject } from './json';",
      'export const used = [Command, MarathonClient, start, http, join, isObject];',
      '',
    ].join('\n'),
  );
  expect(found.sort()).toEqual(
    [
      '@typescript-eslint/no-require-imports: 4',
      'import/no-restricted-paths: 1',
      'import/no-restricted-paths: 2',
      'import/no-restricted-paths: 3',
      'no-restricted-imports: 1',
    ].sort(),
  );
});
