// The rendered JSON of every example service and of a fixture of each package kind, in both environments, passes Marathon's own JSON schema and the
// semantic rules (validateMarathonApp). The schema is historical (draft-04 style, "$schema": ".../schema#"), so ajv
// runs with strict: false and without meta-schema validation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { artifactUri } from '../../../lib/catalog/artifact';
import { ENVIRONMENTS, HealthCheck, packageOf, ServiceDefinition } from '../../../lib/catalog/types';
import { validateService } from '../../../lib/catalog/validate';
import { renderMarathonApp } from '../../../lib/marathon/render';
import { validateMarathonApp } from '../../../lib/marathon/validate';
import { registryServiceDefinition } from '../../../constructs/registry';
import { serviceDefinitions } from '../../../services';

const schemaPath = join(__dirname, '../../../reference/marathon-api/json-schema/AppDefinition.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
const { $schema: _ignored, ...body } = schema;
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
const validate = ajv.compile(body);

// Fixtures for every kind of package and health check, so the coverage does not depend on the example fleet.
const base = { repo: 'acme/fixture', cpus: 0.25, mem: 128, instances: 2, smokeTest: './e2e.sh', approvers: ['user:a@example.com'] };
const fixtures: ServiceDefinition[] = [
  {
    ...base,
    name: 'fixture-artifact',
    package: { kind: 'artifact', cmd: 'node server.js' },
    build: 'make',
    healthCheck: HealthCheck.tcp(),
  },
  {
    ...base,
    name: 'fixture-binary',
    package: { kind: 'artifact', args: ['./fixture-binary', '--serve'], file: 'out/fixture-binary', extract: false, executable: true },
    ports: [{ name: 'http' }, { name: 'admin', servicePort: 10101 }],
    healthCheck: HealthCheck.http('/health', { portIndex: 1 }),
  },
  {
    ...base,
    name: 'fixture-upstream',
    package: { kind: 'upstream-image', image: `docker.io/library/nginx@sha256:${'a'.repeat(64)}`, containerizer: 'MESOS' },
    healthCheck: HealthCheck.command('true'),
  },
];
const definitions = [...serviceDefinitions, registryServiceDefinition('acme-c2c-registry', 5000, 2), ...fixtures];

/** The package reference a deploy would pass for a service of this kind. */
function refFor(def: ServiceDefinition) {
  return packageOf(def).kind === 'artifact'
    ? {
        artifact: {
          uri: artifactUri('https://storage.googleapis.com/acme-artifacts', def, '3f2a9c1', 'e'.repeat(64)),
          sha256: 'e'.repeat(64),
        },
      }
    : { image: `registry.marathon.internal:5000/${def.name}:3f2a9c1` };
}
const cases = definitions.flatMap((def) => ENVIRONMENTS.map((env) => [def.name, env, def] as const));

describe.each(cases)('%s in %s', (_name, env, def) => {
  const app = renderMarathonApp(def, env, { ...refFor(def), labels: { 'c2c.commit': '3f2a9c1' } });

  it("passes Marathon's AppDefinition JSON schema", () => {
    const valid = validate(JSON.parse(JSON.stringify(app)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('breaks none of the semantic rules', () => {
    expect(validateMarathonApp(app)).toEqual([]);
  });
});

it.each(fixtures.map((f) => [f.name, f] as const))('fixture %s passes the catalog validation', (_name, def) =>
  expect(validateService(def)).toEqual([]),
);

it('the schema catches what it should (a sanity check of the setup)', () => {
  const app = renderMarathonApp(fixtures[0], 'staging', refFor(fixtures[0]));
  expect(validate({ ...app, id: 'Bad_Id' })).toBe(false);
  expect(validate({ ...app, unknownField: 1 })).toBe(false);
  expect(validate({ ...app, fetch: [{ uri: 'x', unknownOption: true }] })).toBe(false);
});

it("fetch entries use only the RAML Artifact type's properties, with its defaults where the service sets none", () => {
  const raml = readFileSync(join(__dirname, '../../../reference/marathon-api/raml/v2/types/artifact.raml'), 'utf8');
  const properties = [...raml.matchAll(/^ {6}(\w+)\??:/gm)].map((m) => m[1]);
  const defaults = Object.fromEntries(
    [...raml.matchAll(/^ {6}(\w+)\?:\n {8}type: boolean\n {8}default: (true|false)/gm)].map((m) => [m[1], m[2] === 'true']),
  );
  expect(properties).toEqual(['uri', 'extract', 'executable', 'cache', 'destPath']);
  const fetch = renderMarathonApp(fixtures[0], 'staging', refFor(fixtures[0])).fetch ?? [];
  expect(fetch).toHaveLength(1);
  for (const key of Object.keys(fetch[0])) expect(properties).toContain(key);
  // Marathon's default `executable`; `extract` is false (the task's command checks the file's SHA-256, then extracts
  // it); `cache` is always right for an artifact URI, which is immutable.
  expect({ extract: fetch[0].extract, executable: fetch[0].executable }).toEqual({
    extract: false,
    executable: defaults.executable,
  });
  expect([defaults.cache, fetch[0].cache]).toEqual([false, true]);
});
