/**
 * The Cloud Build triggers of a synthesized app, read from `cdktf.out/stacks/<stack>/cdk.tf.json`. Terraform
 * expressions in them are resolved the way Terraform would once the platform is applied: a reference to a resource's
 * configured attribute (a bucket's `name`), through cross-stack outputs, and the ids whose form the provider
 * documents (a secret's `projects/P/secrets/ID`). What exists only after an apply (an object's generation) is
 * returned as `unresolved`, for the caller to pass as a substitution.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { C2CError } from '../errors';
import { SubstitutionOption } from './substitute';
import { Build, BuildStep, SynthesizedTrigger, TriggerEvent } from './types';

type Json = Record<string, unknown>;
type Stacks = ReadonlyMap<string, Json> & { applied?: ReadonlyMap<string, string> };

/**
 * Values an apply gave, by Terraform expression (`google_storage_bucket_object.x.generation`): what {@link readTriggers}
 * resolves as an applied platform would (see {@link publishInlineObjects}).
 */
export type AppliedValues = ReadonlyMap<string, string>;

/** A trigger with the Terraform expressions it still holds. */
export interface ReadTrigger extends SynthesizedTrigger {
  /** Expressions that only an apply gives a value (`google_storage_bucket_object.x.generation`), by where they are. */
  readonly unresolved: readonly string[];
  /** The trigger's project and location (`$PROJECT_ID`, `$LOCATION`). */
  readonly project: string;
  readonly location: string;
  /** A trigger started by Pub/Sub messages (`pubsub_config`): its topic (`projects/P/topics/T`) and CEL `filter`. */
  readonly pubsub?: { readonly topic: string; readonly filter?: string };
  /** Whether a build it starts waits for an approval (`approval_config.approval_required`). */
  readonly approvalRequired: boolean;
}

function readStacks(outdir: string, applied?: AppliedValues): Stacks {
  const dir = join(outdir, 'stacks');
  if (!existsSync(dir))
    throw new C2CError('TRIGGER_NOT_FOUND', `${dir} does not exist: nothing is synthesized`, { hint: 'run npm run synth' });
  const stacks: Map<string, Json> & { applied?: AppliedValues } = new Map<string, Json>();
  if (applied) stacks.applied = applied;
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name, 'cdk.tf.json');
    if (existsSync(file)) stacks.set(name, JSON.parse(readFileSync(file, 'utf8')) as Json);
  }
  return stacks;
}

/** Newest modification time of the sources synth reads, against `cdktf.out`'s: whether to synthesize again. */
export function synthIsStale(root: string, outdir = join(root, 'cdktf.out')): boolean {
  const manifest = join(outdir, 'manifest.json');
  if (!existsSync(manifest)) return true;
  const built = statSync(manifest).mtimeMs;
  const newer = (path: string): boolean => {
    if (!existsSync(path)) return false;
    const st = statSync(path);
    if (!st.isDirectory()) return st.mtimeMs > built;
    return readdirSync(path).some((n) => n !== 'node_modules' && newer(join(path, n)));
  };
  return ['main.ts', 'constructs', 'services', 'lib', 'package.json'].some((p) => newer(join(root, p)));
}

const block = (v: unknown): Json | undefined => (Array.isArray(v) ? (v[0] as Json | undefined) : (v as Json | undefined));
const list = <T>(v: unknown): T[] => (v === undefined ? [] : Array.isArray(v) ? (v as T[]) : [v as T]);

function eventOf(t: Json): TriggerEvent {
  const repo = block(t.repository_event_config) ?? block(t.github);
  if (repo?.pull_request) return 'pull request';
  if (repo?.push) return 'push';
  const approval = block(t.approval_config)?.approval_required === true;
  // Started by a Pub/Sub message: here, always a Cloud Storage notification of an object the previous build wrote.
  if (block(t.pubsub_config)) return approval ? 'storage object, then approval' : 'storage object';
  if (approval) return 'manual approval';
  return 'scheduled';
}

/** Resolves one `${...}` expression to a literal, or undefined when only an apply knows it. */
function resolveExpression(expr: string, stack: string, stacks: Stacks, depth = 0): string | undefined {
  if (depth > 8) return undefined;
  const doc = stacks.get(stack)!;
  let m = /^data\.terraform_remote_state\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
  if (m) {
    // cdktf's own cross-stack references name the stack; a remote state declared by hand is found by its output.
    const named = /^cross-stack-reference-input-([\w-]+)$/.exec(m[1])?.[1];
    const from = named ?? [...stacks.keys()].find((k) => k !== stack && (stacks.get(k)!.output as Json | undefined)?.[m![2]] !== undefined);
    const out = from === undefined ? undefined : ((stacks.get(from)?.output as Json | undefined)?.[m[2]] as Json | undefined);
    return typeof out?.value === 'string' ? resolveString(out.value, from!, stacks, depth + 1).text : undefined;
  }
  const applied = stacks.applied?.get(expr);
  if (applied !== undefined) return applied;
  m = /^([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)$/.exec(expr);
  if (!m) return undefined;
  const res = ((doc.resource as Json | undefined)?.[m[1]] as Json | undefined)?.[m[2]] as Json | undefined;
  if (!res) return undefined;
  // A resource without `project` is in its provider's (the google provider's `project`, as the provider documents).
  const provider = block((doc.provider as Json | undefined)?.google);
  const attr = (name: string) => {
    const v = res[name] ?? (name === 'project' ? provider?.project : undefined);
    return typeof v === 'string' ? resolveString(v, stack, stacks, depth + 1).text : undefined;
  };
  if (m[3] !== 'id' && typeof res[m[3]] === 'string') return attr(m[3]);
  if (m[1] === 'google_secret_manager_secret' && m[3] === 'id') return `projects/${attr('project')}/secrets/${attr('secret_id')}`;
  if (m[1] === 'google_cloudbuild_worker_pool' && m[3] === 'id')
    return `projects/${attr('project')}/locations/${attr('location')}/workerPools/${attr('name')}`;
  if (m[1] === 'google_pubsub_topic' && m[3] === 'id') return `projects/${attr('project')}/topics/${attr('name')}`;
  return undefined;
}

/** Resolves every `${...}` of `text` and undoes Terraform's escapes (`$${` is a literal `${`, `%%{` a literal `%{`). */
function resolveString(text: string, stack: string, stacks: Stacks, depth = 0): { text: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const out = text.replace(/(\$\$\{)|(%%\{)|\$\{([^}]+)\}/g, (_all: string, dollar?: string, percent?: string, expr?: string) => {
    if (dollar) return '${';
    if (percent) return '%{';
    const v = resolveExpression(expr!.trim(), stack, stacks, depth);
    if (v === undefined || v.includes('<unresolved ')) {
      unresolved.push(expr!.trim());
      return `<unresolved ${expr!.trim()}>`;
    }
    return v;
  });
  return { text: out, unresolved };
}

function readBuild(raw: Json, resolve: (s: string) => string): Build {
  const strs = (v: unknown) => list<string>(v).map(resolve);
  const opt = block(raw.options) ?? {};
  const secrets = list<Json>(block(raw.available_secrets)?.secret_manager);
  const steps: BuildStep[] = list<Json>(raw.step).map((s) => ({
    name: resolve(s.name as string),
    ...(s.id ? { id: s.id as string } : {}),
    ...(s.entrypoint ? { entrypoint: resolve(s.entrypoint as string) } : {}),
    ...(s.args ? { args: strs(s.args) } : {}),
    ...(s.dir ? { dir: resolve(s.dir as string) } : {}),
    ...(s.env ? { env: strs(s.env) } : {}),
    ...(s.secret_env ? { secretEnv: list<string>(s.secret_env) } : {}),
    ...(s.wait_for ? { waitFor: list<string>(s.wait_for) } : {}),
    ...(s.timeout ? { timeout: s.timeout as string } : {}),
  }));
  return {
    steps,
    ...(raw.timeout ? { timeout: raw.timeout as string } : {}),
    options: {
      ...(opt.substitution_option ? { substitutionOption: opt.substitution_option as SubstitutionOption } : {}),
      ...(opt.env ? { env: strs(opt.env) } : {}),
      ...(opt.secret_env ? { secretEnv: list<string>(opt.secret_env) } : {}),
    },
    ...(secrets.length > 0
      ? {
          availableSecrets: {
            secretManager: secrets.map((s) => ({ env: s.env as string, versionName: resolve(s.version_name as string) })),
          },
        }
      : {}),
  };
}

/**
 * Every trigger of the synthesized app in `outdir`, by stack then name; `applied` gives the values only an apply knows
 * (an object's generation), which are otherwise left `<unresolved EXPR>`.
 */
export function readTriggers(outdir: string, applied?: AppliedValues): ReadTrigger[] {
  const stacks = readStacks(outdir, applied);
  const out: ReadTrigger[] = [];
  for (const [stack, doc] of stacks) {
    const triggers = ((doc.resource as Json | undefined)?.google_cloudbuild_trigger ?? {}) as Record<string, Json>;
    for (const t of Object.values(triggers)) {
      const unresolved: string[] = [];
      const resolve = (s: string) => {
        const r = resolveString(s, stack, stacks);
        unresolved.push(...r.unresolved);
        return r.text;
      };
      const raw = block(t.build);
      if (!raw) continue;
      const subs = Object.fromEntries(Object.entries((t.substitutions ?? {}) as Record<string, string>).map(([k, v]) => [k, resolve(v)]));
      const repo = block(t.repository_event_config);
      const branch = (block(repo?.push)?.branch ?? block(repo?.pull_request)?.branch ?? block(t.source_to_build)?.ref) as
        string | undefined;
      const build = readBuild(raw, resolve);
      const pubsub = block(t.pubsub_config);
      out.push({
        name: t.name as string,
        stack,
        event: eventOf(t),
        ...(t.description ? { description: t.description as string } : {}),
        ...(branch ? { branch } : {}),
        build: { ...build, ...(Object.keys(subs).length > 0 ? { substitutions: subs } : {}) },
        unresolved: [...new Set(unresolved)],
        project: resolve(String(t.project ?? '')),
        location: resolve(String(t.location ?? 'global')),
        ...(pubsub
          ? { pubsub: { topic: resolve(String(pubsub.topic)), ...(t.filter ? { filter: resolve(t.filter as string) } : {}) } }
          : {}),
        approvalRequired: block(t.approval_config)?.approval_required === true,
      });
    }
  }
  return out;
}

/** A bucket's Pub/Sub notification (`google_storage_notification`): which object events go to which topic. */
export interface StorageNotification {
  readonly bucket: string;
  /** `projects/P/topics/T`. */
  readonly topic: string;
  /** Empty: every event type. */
  readonly eventTypes: readonly string[];
  readonly objectNamePrefix?: string;
}

/** The synthesized buckets' Pub/Sub notifications. */
export function readNotifications(outdir: string): StorageNotification[] {
  const stacks = readStacks(outdir);
  const out: StorageNotification[] = [];
  for (const [stack, doc] of stacks) {
    const all = ((doc.resource as Json | undefined)?.google_storage_notification ?? {}) as Record<string, Json>;
    for (const n of Object.values(all)) {
      const text = (v: unknown) => resolveString(String(v), stack, stacks).text;
      out.push({
        bucket: text(n.bucket),
        topic: text(n.topic),
        eventTypes: list<string>(n.event_types),
        ...(n.object_name_prefix ? { objectNamePrefix: text(n.object_name_prefix) } : {}),
      });
    }
  }
  return out;
}

/** An object whose bytes the configuration holds (`content`), as Terraform would create it. */
export interface InlineObject {
  /** `google_storage_bucket_object.<id>`: its `.generation` is what {@link readTriggers} takes as applied. */
  readonly address: string;
  readonly bucket: string;
  readonly name: string;
  readonly content: string;
  readonly contentType?: string;
}

/** The objects with inline `content` whose generation a stack refers to (an output or a trigger): what a run publishes. */
export function readInlineObjects(outdir: string): InlineObject[] {
  return inlineObjects(outdir, (address, texts) => texts.some((t) => t.includes(`\${${address}.generation}`)));
}

/**
 * The objects with inline `content` whose name starts with `prefix` (`templates/`: the Marathon apps the platform
 * publishes), as Terraform would create them.
 */
export function readPublishedObjects(outdir: string, prefix: string): InlineObject[] {
  return inlineObjects(outdir, () => true).filter((o) => o.name.startsWith(prefix));
}

function inlineObjects(outdir: string, wanted: (address: string, texts: readonly string[]) => boolean): InlineObject[] {
  const stacks = readStacks(outdir);
  const texts = [...stacks.values()].map((d) => JSON.stringify(d));
  const out: InlineObject[] = [];
  for (const [stack, doc] of stacks) {
    const all = ((doc.resource as Json | undefined)?.google_storage_bucket_object ?? {}) as Record<string, Json>;
    for (const [id, o] of Object.entries(all)) {
      const address = `google_storage_bucket_object.${id}`;
      if (typeof o.content !== 'string' || !wanted(address, texts)) continue;
      const text = (v: unknown) => resolveString(String(v), stack, stacks).text;
      out.push({
        address,
        bucket: text(o.bucket),
        name: text(o.name),
        content: text(o.content),
        ...(o.content_type ? { contentType: String(o.content_type) } : {}),
      });
    }
  }
  return out;
}

/**
 * One trigger by name.
 * @throws C2CError TRIGGER_NOT_FOUND naming the triggers there are
 */
export function findTrigger(outdir: string, name: string): ReadTrigger {
  const all = readTriggers(outdir);
  const t = all.find((x) => x.name === name);
  if (!t) {
    throw new C2CError('TRIGGER_NOT_FOUND', `no synthesized trigger is named '${name}'`, {
      hint: `run 'npm run pipeline -- list'; there are ${all.length} (${all
        .slice(0, 4)
        .map((x) => x.name)
        .join(', ')}, ...)`,
    });
  }
  return t;
}
