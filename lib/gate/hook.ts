import { C2CError } from '../errors';

/**
 * The production gate's capability. `applyService` changes production only when its `beforeSubmit` hook was made
 * here, by `applyPlan` (lib/gate/apply.ts); any other caller (a script, `apply --all`, a second CLI) is refused before
 * anything is sent. This module imports nothing from the deploy library, so `lib/deploy/apply.ts` can check it without
 * an import cycle.
 */
const issued = new WeakSet<object>();

/** Marks `fn` as the gate's own hook. Only lib/gate/apply.ts calls this. */
export function gateHook<F extends (...args: never[]) => unknown>(fn: F): F {
  issued.add(fn);
  return fn;
}

/** True for a hook made by {@link gateHook}. */
export function isGateHook(fn: unknown): boolean {
  return typeof fn === 'function' && issued.has(fn);
}

/** The refusal for any way into production but an approved plan (exit 2: nothing was sent). */
export function productionNeedsPlan(what: string): C2CError {
  return new C2CError(
    'PRODUCTION_NEEDS_PLAN',
    `production is changed only through an approved plan; ${what} is not allowed for production`,
    {
      hint: "run 'deploy plan --service S --env production --image IMAGE --out FILE', have it approved ('deploy approve FILE'), then 'deploy apply --plan FILE'",
    },
  );
}
