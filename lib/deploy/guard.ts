import { C2CError } from '../errors';

/**
 * The production guard: a capability, not a policy. `applyService` and `rollbackService` change production only when
 * handed a hook sealed here; the policy that decides (lib/gate: plans, approvals, signatures, known-good versions,
 * break-glass) is the only code that seals one (an eslint rule keeps `sealHook` out of every other module). Any other
 * caller (a script, `apply --all`, a second CLI) is refused before anything is sent.
 */
const sealed = new WeakSet<object>();

/** Marks `hook` as the gate's own. Only lib/gate calls this. */
export function sealHook<H extends object>(hook: H): H {
  sealed.add(hook);
  return hook;
}

/** True for a hook made by {@link sealHook}. */
export function isSealedHook(hook: unknown): boolean {
  return (typeof hook === 'function' || (typeof hook === 'object' && hook !== null)) && sealed.has(hook);
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
