/**
 * The order Cloud Build runs a build's steps in: a step without `waitFor` waits for every step before it (so a build
 * with no `waitFor` at all runs in sequence); `waitFor: ['-']` starts it when the build starts; otherwise it starts
 * when every step it names has finished. A step may only wait for steps defined before it, and ids are unique.
 * @see https://cloud.google.com/build/docs/configuring-builds/configure-build-step-order
 */
import { C2CError } from '../errors';

/** What the graph needs of a step. */
export interface GraphStep {
  readonly id?: string;
  readonly waitFor?: readonly string[];
}

/** A step of the graph: its key (its `id`, else `step #N`, 0-based as Cloud Build numbers steps), and what it waits for. */
export interface GraphNode {
  readonly index: number;
  readonly key: string;
  /** Indexes of the steps that must finish first. */
  readonly after: readonly number[];
}

/** The key a step is shown under: its id, else its position. */
export function stepKey(step: GraphStep, index: number): string {
  return step.id && step.id !== '' ? step.id : `step #${index}`;
}

/**
 * The dependency graph of `steps`.
 * @throws C2CError BUILD_INVALID for a duplicate id, an id of `-`, or a `waitFor` naming no earlier step
 */
export function stepGraph(steps: readonly GraphStep[]): GraphNode[] {
  const seen = new Map<string, number>();
  return steps.map((step, index) => {
    const key = stepKey(step, index);
    if (step.id === '-')
      throw invalidStep(index, key, `the ID cannot be "-", which is reserved as a dependency for build steps that should run first`);
    let after: number[];
    if (step.waitFor === undefined || step.waitFor.length === 0) {
      after = Array.from({ length: index }, (_, i) => i);
    } else {
      after = [];
      for (const dep of step.waitFor) {
        if (dep === '-') continue;
        const at = seen.get(dep);
        if (at === undefined)
          throw invalidStep(index, key, `waitFor "${dep}" names no earlier step; a step can only wait for steps defined before it`);
        after.push(at);
      }
    }
    if (step.id) {
      if (seen.has(step.id)) throw invalidStep(index, key, `the ID "${step.id}" is used by an earlier step; step IDs must be unique`);
      seen.set(step.id, index);
    }
    return { index, key, after: [...new Set(after)] };
  });
}

function invalidStep(index: number, key: string, why: string): C2CError {
  return new C2CError('BUILD_INVALID', `invalid build: build step #${index} - "${key}": ${why}`, {
    hint: 'fix the step in the construct that writes it, then synthesize again',
  });
}
