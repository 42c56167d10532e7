import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** SSH keys made in the test with ssh-keygen, and an allowed-signers file listing them. */
export interface TestKeys {
  /** The allowed-signers file. */
  readonly allowedSigners: string;
  /** The private key file of a person made with `add`. */
  key(person: string): string;
  /** Makes a key for `person` and lists it (with `groups`, e.g. `group:leads@x`) unless `listed` is false. */
  add(person: string, options?: { groups?: readonly string[]; listed?: boolean }): string;
}

/** Keys live in `dir/keys`; the allowed-signers file is `dir/allowed_signers`. */
export function testKeys(dir: string, people: readonly string[] = []): TestKeys {
  const keysDir = join(dir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const allowedSigners = join(dir, 'allowed_signers');
  writeFileSync(allowedSigners, '# test signers\n');
  const files = new Map<string, string>();
  const keys: TestKeys = {
    allowedSigners,
    key: (person) => {
      const f = files.get(person);
      if (!f) throw new Error(`no key for ${person}`);
      return f;
    },
    add: (person, options = {}) => {
      const file = join(keysDir, `${person.replace(/[^\w.-]/g, '_')}-${files.size}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', person, '-f', file]);
      files.set(person, file);
      if (options.listed !== false) {
        const principals = [person, ...(options.groups ?? [])].join(',');
        appendFileSync(allowedSigners, `${principals} ${readFileSync(`${file}.pub`, 'utf8').trim()}\n`);
      }
      return file;
    },
  };
  for (const p of people) keys.add(p);
  return keys;
}
