import { C2CError } from '../../../lib/errors';
import { allowsLooseSubstitutions, builtInValues, checkSubstitutions, substitute } from '../../../lib/cloudbuild/substitute';

const ctx = {
  projectId: 'acme',
  buildId: 'b-1',
  location: 'europe-west1',
  commitSha: '0123456789abcdef',
  branchName: 'main',
  repoFullName: 'acme/bulb',
};

function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(C2CError);
    expect((e as C2CError).code).toBe('BUILD_INVALID');
    return (e as C2CError).message;
  }
  throw new Error('expected BUILD_INVALID');
}

describe('substitute', () => {
  const values = { ...builtInValues(ctx), _PLAN: 'p.json' };
  it('expands $NAME and ${NAME}', () => {
    expect(substitute('img:$SHORT_SHA ${BUILD_ID}/$_PLAN', values)).toBe('img:0123456 b-1/p.json');
  });
  it('turns $$ into a literal $ and leaves what is not a parameter as written', () => {
    expect(substitute('echo $$HOME $$(date) $foo $(body.x) $', values)).toBe('echo $HOME $(date) $foo $(body.x) $');
  });
  it('reads the longest key: $_PLANX is not $_PLAN followed by X', () => {
    expect(substitute('$_PLANX', values)).toBe('');
  });
  it('gives SHORT_SHA as the first seven characters, REPO_NAME without the owner', () => {
    expect(values.SHORT_SHA).toBe('0123456');
    expect(values.REPO_NAME).toBe('bulb');
    expect(values.REVISION_ID).toBe(ctx.commitSha);
  });
});

describe('checkSubstitutions (Cloud Build wording)', () => {
  it('fails on a user key used and not defined', () => {
    expect(invalidMessage(() => checkSubstitutions(['gs://b/$_PLAN_OBJECT'], {}, false))).toBe(
      'invalid build: key in the template "_PLAN_OBJECT" is not matched in the substitution data',
    );
  });
  it('fails on a user key defined and not used', () => {
    expect(invalidMessage(() => checkSubstitutions(['echo hi'], { _UNUSED: 'x' }, false))).toBe(
      'invalid build: key "_UNUSED" in the substitution data is not matched in the template',
    );
  });
  it('ALLOW_LOOSE turns both into warnings', () => {
    expect(checkSubstitutions(['$_A'], { _B: 'x' }, true)).toEqual([
      'key in the template "_A" is not matched in the substitution data',
      'key "_B" in the substitution data is not matched in the template',
    ]);
  });
  it('fails on an unknown built-in even with ALLOW_LOOSE', () => {
    expect(invalidMessage(() => checkSubstitutions(['$SERVICE_URL'], {}, true))).toBe(
      'invalid build: key in the template "SERVICE_URL" is not a valid built-in substitution',
    );
  });
  it('accepts documented built-ins and escaped dollars', () => {
    expect(checkSubstitutions(['$PROJECT_ID $LOCATION ${TRIGGER_NAME} $$NOT_A_KEY $$(cat f)'], {}, false)).toEqual([]);
  });
  it('refuses a substitution key that is neither _KEY nor a built-in', () => {
    expect(invalidMessage(() => checkSubstitutions([], { lower: 'x' }, true))).toMatch(/substitution key "lower" does not respect format/);
  });
});

describe('allowsLooseSubstitutions (Cloud Build: loose by default for a trigger, strict for a build submitted directly)', () => {
  it('a build a trigger starts is loose unless it asks for MUST_MATCH', () => {
    expect(allowsLooseSubstitutions(undefined, true)).toBe(true);
    expect(allowsLooseSubstitutions('ALLOW_LOOSE', true)).toBe(true);
    expect(allowsLooseSubstitutions('MUST_MATCH', true)).toBe(false);
  });
  it('a build submitted directly is strict unless it asks for ALLOW_LOOSE', () => {
    expect(allowsLooseSubstitutions(undefined, false)).toBe(false);
    expect(allowsLooseSubstitutions('MUST_MATCH', false)).toBe(false);
    expect(allowsLooseSubstitutions('ALLOW_LOOSE', false)).toBe(true);
  });
  it('a triggered MUST_MATCH build fails on an unused substitution, as a submitted one does', () => {
    expect(invalidMessage(() => checkSubstitutions(['echo hi'], { _UNUSED: 'x' }, allowsLooseSubstitutions('MUST_MATCH', true)))).toBe(
      'invalid build: key "_UNUSED" in the substitution data is not matched in the template',
    );
    expect(checkSubstitutions(['echo hi'], { _UNUSED: 'x' }, allowsLooseSubstitutions(undefined, true))).toEqual([
      'key "_UNUSED" in the substitution data is not matched in the template',
    ]);
  });
});
