/** A Cloud Build build as the executor reads it (the fields of the REST `Build` resource the triggers use). */
import { C2CError } from '../errors';
import { SecretManagerSecret } from './secrets';
import { SubstitutionOption } from './substitute';

/** One build step. @see https://cloud.google.com/build/docs/build-config-file-schema#build_steps */
export interface BuildStep {
  /** The image. */
  readonly name: string;
  readonly id?: string;
  readonly entrypoint?: string;
  readonly args?: readonly string[];
  /** Working directory, relative to /workspace (or absolute). */
  readonly dir?: string;
  /** `NAME=value`. */
  readonly env?: readonly string[];
  /** Names of `availableSecrets` entries this step gets as environment variables. */
  readonly secretEnv?: readonly string[];
  /** @see graph.ts for the rules */
  readonly waitFor?: readonly string[];
  /** `120s`, `1.5s`. */
  readonly timeout?: string;
}

/** A build. */
export interface Build {
  readonly steps: readonly BuildStep[];
  /** @default '600s' */
  readonly timeout?: string;
  /** User substitutions the trigger defines (`_KEY`), before any given at run time. */
  readonly substitutions?: Readonly<Record<string, string>>;
  readonly options?: {
    readonly substitutionOption?: SubstitutionOption;
    /** `NAME=value` for every step. */
    readonly env?: readonly string[];
    readonly secretEnv?: readonly string[];
  };
  readonly availableSecrets?: { readonly secretManager?: readonly SecretManagerSecret[] };
}

/** How a trigger is started. */
export type TriggerEvent = 'pull request' | 'push' | 'storage object' | 'storage object, then approval' | 'manual approval' | 'scheduled';

/** A synthesized trigger. */
export interface SynthesizedTrigger {
  readonly name: string;
  readonly stack: string;
  readonly event: TriggerEvent;
  readonly description?: string;
  /** The branch regex of a push or pull-request trigger, or the ref a triggered build checks out. */
  readonly branch?: string;
  readonly build: Build;
}

/** Parses a duration as Cloud Build writes it (`600s`, `1.5s`) into milliseconds. */
export function durationMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(text.trim());
  if (!m) throw new C2CError('BUILD_INVALID', `invalid build: timeout '${text}' is not a duration such as 600s`);
  return Math.round(Number(m[1]) * 1000);
}
