// The rendered JSON of every example service, in both environments, passes Marathon's own JSON schema and the
// semantic rules (validateMarathonApp). The schema is historical (draft-04 style, "$schema": ".../schema#"), so ajv
// runs with strict: false and without meta-schema validation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { ENVIRONMENTS } from '../../../lib/catalog/types';
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

const definitions = [...serviceDefinitions, registryServiceDefinition('acme-c2c-registry', 5000, 2)];
const cases = definitions.flatMap((def) => ENVIRONMENTS.map((env) => [def.name, env, def] as const));

describe.each(cases)('%s in %s', (_name, env, def) => {
  const app = renderMarathonApp(def, env, {
    image: `registry.marathon.internal:5000/${def.name}:3f2a9c1`,
    labels: { 'c2c.commit': '3f2a9c1' },
  });

  it("passes Marathon's AppDefinition JSON schema", () => {
    const valid = validate(JSON.parse(JSON.stringify(app)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('breaks none of the semantic rules', () => {
    expect(validateMarathonApp(app)).toEqual([]);
  });
});

it('the schema catches what it should (a sanity check of the setup)', () => {
  const app = renderMarathonApp(serviceDefinitions[0], 'staging', { image: 'x' });
  expect(validate({ ...app, id: 'Bad_Id' })).toBe(false);
  expect(validate({ ...app, unknownField: 1 })).toBe(false);
});
