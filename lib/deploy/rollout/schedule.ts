import { CanaryStep, ReleaseStrategy } from '../../catalog/types';

/** One step of a rollout: how many of the target instances run the new colour, and what lets it go on. */
export interface RolloutStep {
  /** 1-based. */
  readonly index: number;
  readonly percent: number;
  /** New-colour instances at this step; the old colour keeps `target - newInstances` serving. */
  readonly newInstances: number;
  /** After the step: nothing (last step), a timed pause, or a wait for `deploy promote`. */
  readonly pause: 'none' | 'promote' | { readonly minutes: number };
}

/**
 * The steps of a two-colour rollout for `target` instances. Blue/green is one step to 100 %; a canary step's share
 * of instances is rounded up (at least one task), and steps that round to the same count are merged, so every step
 * moves at least one instance. A target of 0 is one step of 0 instances.
 */
export function rolloutSteps(strategy: ReleaseStrategy, target: number): RolloutStep[] {
  if (strategy.kind !== 'canary') return [{ index: 1, percent: 100, newInstances: target, pause: 'none' }];
  const out: RolloutStep[] = [];
  strategy.steps.forEach((s: CanaryStep, i) => {
    const last = i === strategy.steps.length - 1;
    const n = last ? target : Math.min(target, Math.max(1, Math.ceil((target * s.percent) / 100)));
    const pause = last ? 'none' : (s.pause ?? 'promote');
    const prev = out[out.length - 1];
    if (prev && prev.newInstances === n) {
      out[out.length - 1] = { ...prev, percent: s.percent, pause };
      return;
    }
    out.push({ index: out.length + 1, percent: s.percent, newInstances: n, pause });
  });
  return out;
}

/** The step a rollout has reached, from the new colour's instance count: the last step whose count it holds. */
export function currentStep(steps: readonly RolloutStep[], newInstances: number): RolloutStep | null {
  let found: RolloutStep | null = null;
  for (const s of steps) if (newInstances >= s.newInstances) found = s;
  return found;
}

/** The share of serving instances on the new colour, percent, rounded. */
export function trafficSplit(newServing: number, oldServing: number): { readonly newPercent: number; readonly oldPercent: number } {
  const total = newServing + oldServing;
  if (total === 0) return { newPercent: 0, oldPercent: 0 };
  const newPercent = Math.round((100 * newServing) / total);
  return { newPercent, oldPercent: 100 - newPercent };
}
