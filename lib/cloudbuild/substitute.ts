/**
 * Cloud Build's substitutions, by its documented rules (and as the archived `cloud-build-local` applied them):
 * `$NAME` and `${NAME}` with NAME matching `[A-Z_][A-Z0-9_]*` are parameters, `$$` is a literal `$`, anything else
 * (`$foo`, `$(...)`) is left as written. A user substitution starts with `_`; the others are built-ins. Unless the
 * substitution checks are loose ({@link allowsLooseSubstitutions}), a `_KEY` used but not defined, or defined but
 * never used, fails the build before any step runs; an unknown built-in always fails.
 * @see https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values
 */
import { C2CError } from '../errors';

/** The built-in substitutions Cloud Build documents (for every build, and for builds a trigger starts). */
export const BUILT_IN_SUBSTITUTIONS = [
  'PROJECT_ID',
  'BUILD_ID',
  'PROJECT_NUMBER',
  'LOCATION',
  'TRIGGER_NAME',
  'COMMIT_SHA',
  'REVISION_ID',
  'SHORT_SHA',
  'REPO_NAME',
  'REPO_FULL_NAME',
  'BRANCH_NAME',
  'TAG_NAME',
  'REF_NAME',
  'TRIGGER_BUILD_CONFIG_PATH',
  'SERVICE_ACCOUNT_EMAIL',
  'SERVICE_ACCOUNT',
] as const;

/** A built-in substitution's name. */
export type BuiltInSubstitution = (typeof BUILT_IN_SUBSTITUTIONS)[number];

const USER_KEY = /^_[A-Z0-9_]+$/;
const PARAM = /^\$(?:\{([A-Z_][A-Z0-9_]*)\}|([A-Z_][A-Z0-9_]*))/;

/** One `$...` found in a string: a parameter (with its key) or the `$$` escape. */
interface Parameter {
  readonly start: number;
  readonly end: number;
  readonly key?: string;
}

function parameters(text: string): Parameter[] {
  const out: Parameter[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '$') continue;
    if (text[i + 1] === '$') {
      out.push({ start: i, end: i + 2 });
      i++;
      continue;
    }
    const m = PARAM.exec(text.slice(i));
    if (m) {
      out.push({ start: i, end: i + m[0].length, key: m[1] ?? m[2] });
      i += m[0].length - 1;
    }
  }
  return out;
}

/** `options.substitutionOption` of a build (Cloud Build's `BuildOptions.SubstitutionOption`). */
export type SubstitutionOption = 'MUST_MATCH' | 'ALLOW_LOOSE';

/**
 * Whether a build's substitution checks are loose, by Cloud Build's documented rule ("Substituting variable values",
 * https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values): a build fails on a missing or
 * unused substitution unless `options.substitutionOption` is `ALLOW_LOOSE`, and "if your build is invoked by a
 * trigger, the ALLOW_LOOSE option is set by default". So a build a trigger starts is loose unless its build asks for
 * `MUST_MATCH`; a build submitted directly is strict unless it asks for `ALLOW_LOOSE`.
 * The API reference of `BuildOptions.substitutionOption` words the trigger case more strongly ("always set to
 * ALLOW_LOOSE for triggered builds and cannot be overridden in the build configuration file",
 * https://cloud.google.com/build/docs/api/reference/rest/v1/projects.builds#buildoptions): where the two differ,
 * this executor is the stricter one, so a build that passes its checks here passes them in the cloud.
 */
export function allowsLooseSubstitutions(option: SubstitutionOption | undefined, triggered: boolean): boolean {
  return option === 'ALLOW_LOOSE' || (triggered && option !== 'MUST_MATCH');
}

/** Whether `key` names a user substitution (`_` then capitals, digits, underscores). */
export function isUserSubstitution(key: string): boolean {
  return USER_KEY.test(key);
}

/**
 * The checks Cloud Build makes before a build starts, with its wording: an unknown built-in is an error; an unmatched
 * user key in either direction is an error unless `allowLoose`. Returns the warnings that `allowLoose` lets through.
 * @throws C2CError BUILD_INVALID
 */
export function checkSubstitutions(
  templates: readonly string[],
  substitutions: Readonly<Record<string, string>>,
  allowLoose: boolean,
): string[] {
  for (const key of Object.keys(substitutions)) {
    if (!isUserSubstitution(key) && !(BUILT_IN_SUBSTITUTIONS as readonly string[]).includes(key)) {
      throw invalid(`substitution key "${key}" does not respect format "^_[A-Z0-9_]+$" and is not an overridable built-in substitution`);
    }
  }
  const used = new Set<string>();
  const problems: string[] = [];
  for (const text of templates) {
    for (const p of parameters(text)) {
      if (p.key === undefined) continue;
      used.add(p.key);
      if (p.key in substitutions) continue;
      if (isUserSubstitution(p.key)) problems.push(`key in the template "${p.key}" is not matched in the substitution data`);
      else if (!(BUILT_IN_SUBSTITUTIONS as readonly string[]).includes(p.key))
        throw invalid(`key in the template "${p.key}" is not a valid built-in substitution`);
    }
  }
  for (const key of Object.keys(substitutions)) {
    if (isUserSubstitution(key) && !used.has(key)) problems.push(`key "${key}" in the substitution data is not matched in the template`);
  }
  const unique = [...new Set(problems)];
  if (unique.length > 0 && !allowLoose) throw invalid(unique.join('; '));
  return unique;
}

function invalid(message: string): C2CError {
  return new C2CError('BUILD_INVALID', `invalid build: ${message}`, {
    hint: 'pass the missing user substitution with --substitution _KEY=VALUE, or fix the trigger (a literal $ is written $$)',
  });
}

/** Replaces every parameter of `text` by its value ('' when not given, as Cloud Build does) and `$$` by `$`. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  let out = '';
  let last = 0;
  for (const p of parameters(text)) {
    out += text.slice(last, p.start) + (p.key === undefined ? '$' : (values[p.key] ?? ''));
    last = p.end;
  }
  return out + text.slice(last);
}

/** What a build's built-in substitutions are made from. */
export interface BuildContext {
  readonly projectId: string;
  readonly projectNumber?: string;
  readonly buildId: string;
  readonly location: string;
  readonly triggerName?: string;
  readonly commitSha?: string;
  /** `owner/name`. */
  readonly repoFullName?: string;
  readonly branchName?: string;
  readonly tagName?: string;
  readonly serviceAccountEmail?: string;
}

/** The built-in values of a build (`SHORT_SHA`: the first seven characters of the commit). */
export function builtInValues(ctx: BuildContext): Record<BuiltInSubstitution, string> {
  const sha = ctx.commitSha ?? '';
  const account = ctx.serviceAccountEmail ?? '';
  return {
    PROJECT_ID: ctx.projectId,
    BUILD_ID: ctx.buildId,
    PROJECT_NUMBER: ctx.projectNumber ?? '',
    LOCATION: ctx.location,
    TRIGGER_NAME: ctx.triggerName ?? '',
    COMMIT_SHA: sha,
    REVISION_ID: sha,
    SHORT_SHA: sha.slice(0, 7),
    REPO_NAME: (ctx.repoFullName ?? '').split('/').pop() ?? '',
    REPO_FULL_NAME: ctx.repoFullName ?? '',
    BRANCH_NAME: ctx.branchName ?? '',
    TAG_NAME: ctx.tagName ?? '',
    REF_NAME: ctx.branchName ?? ctx.tagName ?? '',
    TRIGGER_BUILD_CONFIG_PATH: '',
    SERVICE_ACCOUNT_EMAIL: account,
    SERVICE_ACCOUNT: account ? `projects/${ctx.projectId}/serviceAccounts/${account}` : '',
  };
}
