import { C2CError } from '../../../lib/errors';
import { stepGraph } from '../../../lib/cloudbuild/graph';

const after = (steps: Parameters<typeof stepGraph>[0]) => stepGraph(steps).map((n) => [n.key, n.after]);

describe('stepGraph', () => {
  it('runs steps without waitFor in sequence (each waits for every step before it)', () => {
    expect(after([{ id: 'a' }, { id: 'b' }, {}])).toEqual([
      ['a', []],
      ['b', [0]],
      ['step #2', [0, 1]],
    ]);
  });
  it("starts a step with waitFor ['-'] at once", () => {
    expect(after([{ id: 'a' }, { id: 'b', waitFor: ['-'] }])).toEqual([
      ['a', []],
      ['b', []],
    ]);
  });
  it('waits only for the named steps', () => {
    expect(
      after([
        { id: 'a', waitFor: ['-'] },
        { id: 'b', waitFor: ['-'] },
        { id: 'c', waitFor: ['b'] },
      ])[2],
    ).toEqual(['c', [1]]);
  });
  it.each([
    [
      [{ id: 'a', waitFor: ['b'] }, { id: 'b' }],
      'invalid build: build step #0 - "a": waitFor "b" names no earlier step; a step can only wait for steps defined before it',
    ],
    [[{ id: 'a' }, { id: 'a' }], 'invalid build: build step #1 - "a": the ID "a" is used by an earlier step; step IDs must be unique'],
    [
      [{ id: '-' }],
      'invalid build: build step #0 - "-": the ID cannot be "-", which is reserved as a dependency for build steps that should run first',
    ],
  ])('refuses an invalid graph (%#)', (steps, message) => {
    expect(() => stepGraph(steps)).toThrow(new C2CError('BUILD_INVALID', message));
  });
});
