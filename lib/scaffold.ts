import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateService } from './catalog/validate';
import { ServiceDefinition } from './catalog/types';
import { C2CError, ValidationError } from './errors';

/** What `npm run new-service` is asked to do. */
export interface ScaffoldOptions {
  /** Repository root holding `services/`. */
  readonly root: string;
  /** Service name (the catalog's rules: lower-case letters, digits and `-`). */
  readonly name: string;
  /** GitHub `owner/name`. @default `<githubOwner>/<name>` */
  readonly repo?: string;
  /** The GitHub owner the platform manages: the default owner of `repo`, and the one synth requires. */
  readonly githubOwner: string;
  /** Overwrite an existing `services/<name>.ts`. @default false */
  readonly force?: boolean;
  /**
   * What the service deploys: the Docker image its `build.sh` builds, or an artifact (a tarball that `make` builds,
   * fetched and started by Marathon without Docker).
   * @default 'image'
   */
  readonly kind?: 'image' | 'artifact';
  /** Who may approve its production deploys: IAM members (`user:ana@example.com`, `group:…`), at least one. */
  readonly approvers: readonly string[];
}

/** What was written. */
export interface ScaffoldResult {
  /** The service file, relative to the root. */
  readonly file: string;
  /** Its content. */
  readonly content: string;
  /** `services/service-list.ts`, relative to the root: the list of services. */
  readonly index: string;
  /** False when the list already had the service (re-run with --force). */
  readonly indexUpdated: boolean;
  /** The line added to the list (none when it was there). */
  readonly added: readonly string[];
  /** The approvers written into the file. */
  readonly approvers: readonly string[];
}

/** The identifier a service file is imported as: `bulb-api` -> `bulbApi`. */
export function importName(name: string): string {
  const camel = name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return /^[0-9]/.test(camel) ? `service${camel}` : camel;
}

/** The approvers of the examples and tests (a real service names its own: `new-service --approvers`). */
export const EXAMPLE_APPROVERS: readonly string[] = ['user:ana@example.com'];

/** The definition a new service starts from: what {@link serviceFileContent} writes, as data. */
export function starterDefinition(
  name: string,
  repo: string,
  kind: 'image' | 'artifact' = 'image',
  approvers: readonly string[] = EXAMPLE_APPROVERS,
): ServiceDefinition {
  return {
    name,
    repo,
    ...(kind === 'artifact' ? { package: { kind: 'artifact', cmd: 'node server.js' }, build: 'make' } : {}),
    cpus: 0.25,
    mem: 256,
    instances: { staging: 1, production: 2 },
    healthCheck: { path: '/health' },
    env: {},
    smokeTest: './e2e.sh',
    approvers,
  };
}

/** The ~15-line service file a new service starts from. */
export function serviceFileContent(
  name: string,
  repo: string,
  kind: 'image' | 'artifact' = 'image',
  approvers: readonly string[] = EXAMPLE_APPROVERS,
): string {
  const what =
    kind === 'artifact'
      ? `// An artifact, no Docker: 'make' builds and tests it and leaves dist/app.tar.gz; Marathon's fetcher unpacks it in
// the task's sandbox and 'cmd' starts it there, listening on $PORT_HTTP (seed files: templates/artifact-repo).
`
      : '';
  const pkg = kind === 'artifact' ? `  package: { kind: 'artifact', cmd: 'node server.js' },\n  build: 'make',\n` : '';
  return `import { defineService } from '../lib/catalog';

// ${name}: say in one line what it does and anything unusual about how it runs.
${what}export default defineService({
  name: '${name}',
  repo: '${repo}',
${pkg}  cpus: 0.25,
  mem: 256,
  instances: { staging: 1, production: 2 },
  healthCheck: { path: '/health' },
  env: {},
  smokeTest: './e2e.sh',
  approvers: [${approvers.map((a) => `'${a.replace(/[\\']/g, '\\$&')}'`).join(', ')}],
});
`;
}

/**
 * Writes `services/<name>.ts` from the template and adds one line to `services/service-list.ts`.
 * Nothing is written when the service would break a catalog rule (the name or the repository, as synth would say),
 * or when the file exists (without `force`).
 * @throws ValidationError INVALID_DEFINITION naming the field, value and fix.
 * @throws C2CError SERVICE_EXISTS, or SERVICES_INDEX when the index has an unexpected shape.
 */
export function scaffoldService(options: ScaffoldOptions): ScaffoldResult {
  const { root, name } = options;
  const repo = options.repo ?? `${options.githubOwner}/${name}`;
  const kind = options.kind ?? 'image';
  // The catalog's own validator, with the platform's owner, on the definition about to be written: exactly what
  // synth checks, so a service that new-service writes is one that synthesizes.
  const problems = validateService(starterDefinition(name, repo, kind, options.approvers), { githubOwner: options.githubOwner });
  if (problems.length > 0) throw new ValidationError(problems);

  const file = join('services', `${name}.ts`);
  const index = join('services', 'service-list.ts');
  const filePath = join(root, file);
  const indexPath = join(root, index);
  if (!existsSync(indexPath)) {
    throw new C2CError('SERVICES_INDEX', `${indexPath} does not exist`, { hint: 'run this from the repository root, or pass --dir' });
  }
  if (existsSync(filePath) && !options.force) {
    throw new C2CError('SERVICE_EXISTS', `${file} already exists`, {
      hint: 'edit it, choose another name, or pass --force to overwrite it',
    });
  }

  const line = `export { default as ${importName(name)} } from './${name}';`;
  const source = readFileSync(indexPath, 'utf8');
  const alreadyListed = source.split('\n').includes(line);
  const content = serviceFileContent(name, repo, kind, options.approvers);
  writeFileSync(filePath, content);
  if (!alreadyListed) writeFileSync(indexPath, `${source}${source.endsWith('\n') || source === '' ? '' : '\n'}${line}\n`);
  return { file, content, index, indexUpdated: !alreadyListed, added: alreadyListed ? [] : [line], approvers: options.approvers };
}
