import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One stack of a synthesized app: its name and its Terraform JSON. */
export interface SynthesizedStack {
  readonly name: string;
  readonly json: TerraformJson;
  /** The stacks it is applied after (`manifest.json`'s `dependencies`). @default [] */
  readonly dependencies?: readonly string[];
}

/** The parts of a stack's Terraform JSON the check reads. */
export interface TerraformJson {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly data?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly provider?: Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;
}

/** A name, e-mail or id a resource of the app will have, and the reference that stands for it. */
export interface Identity {
  /** The literal text. */
  readonly text: string;
  /** `exact`: only a whole attribute value equal to it counts; `contains`: also inside a longer string. */
  readonly match: 'exact' | 'contains';
  /** Stack of the resource. */
  readonly stack: string;
  /** `type.name` of the resource. */
  readonly address: string;
  /** The reference to use instead, e.g. `${google_storage_bucket.deploy_bucket.name}`. */
  readonly reference: string;
}

/** A literal where a reference belongs. */
export interface ReferenceProblem {
  /** Stack and address of the resource holding the literal, and the attribute path. */
  readonly stack: string;
  readonly address: string;
  readonly attribute: string;
  /** What it names. */
  readonly identity: Identity;
}

/**
 * Attributes never checked: a resource's own name and id fields (they name the resource itself), what only labels or
 * describes it, and bodies that a program reads at run time rather than Terraform (an object's or a file's content).
 */
const SKIPPED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'name',
  'account_id',
  'secret_id',
  'repository_id',
  'display_name',
  'description',
  'tags',
  'labels',
  'topics',
  'commit_message',
  '//',
]);
const SKIPPED_BODIES: Readonly<Record<string, readonly string[]>> = {
  google_storage_bucket_object: ['content'],
  github_repository_file: ['content'],
};

const isLiteral = (v: unknown): v is string => typeof v === 'string' && v !== '' && !v.includes('${');

/** The text of a Terraform string with every interpolation (`${...}`) removed; `$${` is an escaped, literal `${`. */
export function literalText(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    if (value.startsWith('$${', i)) {
      out += '${';
      i += 2;
    } else if (value.startsWith('${', i)) {
      let depth = 0;
      let j = i + 1;
      for (; j < value.length; j++) {
        if (value[j] === '{') depth++;
        else if (value[j] === '}' && --depth === 0) break;
      }
      out += '\u0000';
      i = j;
    } else out += value[i];
  }
  return out;
}

function providerProject(json: TerraformJson): string | undefined {
  const p = json.provider?.google?.[0]?.project;
  return typeof p === 'string' ? p : undefined;
}

function githubOwner(json: TerraformJson): string | undefined {
  const o = json.provider?.github?.[0]?.owner;
  return typeof o === 'string' ? o : undefined;
}

/** The names, e-mails and ids each resource of the app will have (only those known at synth). */
export function identitiesOf(stacks: readonly SynthesizedStack[]): Identity[] {
  const out: Identity[] = [];
  for (const { name: stack, json } of stacks) {
    for (const [type, instances] of Object.entries(json.resource ?? {})) {
      for (const [key, r] of Object.entries(instances)) {
        const address = `${type}.${key}`;
        const project = isLiteral(r.project) ? r.project : providerProject(json);
        const add = (text: unknown, match: Identity['match'], attr: string) => {
          if (isLiteral(text)) out.push({ text, match, stack, address, reference: `\${${address}.${attr}}` });
        };
        const n = r.name;
        switch (type) {
          case 'google_service_account':
            add(r.account_id, 'exact', 'account_id');
            if (isLiteral(r.account_id) && project) add(`${r.account_id}@${project}.iam.gserviceaccount.com`, 'contains', 'email');
            break;
          case 'google_storage_bucket':
            add(n, 'contains', 'name');
            break;
          case 'google_storage_bucket_object':
            add(n, 'contains', 'name');
            break;
          case 'google_pubsub_topic':
            add(n, 'exact', 'name');
            if (isLiteral(n) && project) add(`projects/${project}/topics/${n}`, 'contains', 'id');
            break;
          case 'google_pubsub_subscription':
            add(n, 'exact', 'name');
            if (isLiteral(n) && project) add(`projects/${project}/subscriptions/${n}`, 'contains', 'id');
            break;
          case 'google_secret_manager_secret':
            add(r.secret_id, 'exact', 'secret_id');
            if (isLiteral(r.secret_id) && project) add(`projects/${project}/secrets/${r.secret_id}`, 'contains', 'id');
            break;
          case 'google_cloudbuildv2_repository':
            if (isLiteral(n) && isLiteral(r.parent_connection)) add(`${r.parent_connection}/repositories/${n}`, 'contains', 'id');
            break;
          case 'google_cloudbuild_worker_pool':
            add(n, 'exact', 'name');
            if (isLiteral(n) && project && isLiteral(r.location))
              add(`projects/${project}/locations/${r.location}/workerPools/${n}`, 'contains', 'id');
            break;
          case 'google_cloud_run_v2_service':
            add(n, 'exact', 'name');
            if (isLiteral(n) && project && isLiteral(r.location))
              add(`projects/${project}/locations/${r.location}/services/${n}`, 'contains', 'id');
            break;
          case 'github_repository': {
            add(n, 'exact', 'name');
            const owner = githubOwner(json);
            if (isLiteral(n) && owner) add(`github.com/${owner}/${n}`, 'contains', 'html_url');
            break;
          }
          default:
            add(n, 'exact', 'name');
        }
      }
    }
  }
  return out;
}

function walk(value: unknown, path: string, visit: (path: string, text: string) => void): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`, visit);
}

function containsName(text: string, name: string): boolean {
  let at = text.indexOf(name);
  while (at >= 0) {
    const before = text[at - 1];
    const after = text[at + name.length];
    // A bucket name inside a longer name (`x-c2c-deploy-old`) is another name; inside a path or URL it is this one.
    if ((before === undefined || !/[A-Za-z0-9_.-]/.test(before)) && (after === undefined || !/[A-Za-z0-9_-]/.test(after))) return true;
    at = text.indexOf(name, at + 1);
  }
  return false;
}

/** Each stack's name -> every stack it is applied after, directly or not. */
function stacksBefore(stacks: readonly SynthesizedStack[]): Map<string, Set<string>> {
  const direct = new Map(stacks.map((s) => [s.name, s.dependencies ?? []]));
  const out = new Map<string, Set<string>>();
  for (const { name } of stacks) {
    const seen = new Set<string>();
    const todo = [...(direct.get(name) ?? [])];
    while (todo.length > 0) {
      const next = todo.pop()!;
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(...(direct.get(next) ?? []));
      }
    }
    out.set(name, seen);
  }
  return out;
}

/** The addresses a resource's `depends_on` names (`type.name`, `data.type.name`). */
function dependsOnOf(r: Readonly<Record<string, unknown>>): Set<string> {
  const deps = Array.isArray(r.depends_on) ? (r.depends_on as unknown[]) : [];
  return new Set(deps.filter((d): d is string => typeof d === 'string').map((d) => d.replace(/^\$\{|\}$/g, '')));
}

/**
 * Every string attribute of every resource and data source of the app that holds, as a literal, the name, e-mail or
 * id of another resource of the app, with nothing that orders it after that resource. Terraform only orders what it
 * sees: such a literal lets it create the user before the thing used (a trigger before its repository link, a
 * binding before its service account). What orders it: a Terraform reference (`${...}`); the literal plus a
 * `depends_on` naming that resource; across stacks, a stack that is applied after the stack of that resource.
 */
export function referenceProblems(stacks: readonly SynthesizedStack[]): ReferenceProblem[] {
  const identities = identitiesOf(stacks);
  const exact = new Map<string, Identity>();
  for (const id of identities) if (id.match === 'exact' && !exact.has(id.text)) exact.set(id.text, id);
  const contained = identities.filter((id) => id.match === 'contains').sort((a, b) => b.text.length - a.text.length);
  const problems: ReferenceProblem[] = [];
  const before = stacksBefore(stacks);
  for (const { name: stack, json } of stacks) {
    for (const kind of ['resource', 'data'] as const) {
      for (const [type, instances] of Object.entries(json[kind] ?? {})) {
        if (type === 'terraform_remote_state') continue;
        for (const [key, r] of Object.entries(instances)) {
          const address = `${kind === 'data' ? 'data.' : ''}${type}.${key}`;
          const deps = dependsOnOf(r);
          const ordered = (id: Identity) => (id.stack === stack ? deps.has(id.address) : (before.get(stack)?.has(id.stack) ?? false));
          for (const [attr, value] of Object.entries(r)) {
            if (SKIPPED_ATTRIBUTES.has(attr) || (SKIPPED_BODIES[type] ?? []).includes(attr)) continue;
            walk(value, attr, (path, raw) => {
              const text = literalText(raw);
              const whole = exact.get(text);
              const found =
                whole && whole.address !== address ? whole : contained.find((id) => id.address !== address && containsName(text, id.text));
              if (found && !ordered(found)) problems.push({ stack, address, attribute: path, identity: found });
            });
          }
        }
      }
    }
  }
  return problems;
}

/** One line: where the literal is, what it names, and the reference to use. */
export function formatReferenceProblem(p: ReferenceProblem): string {
  const fix =
    p.identity.stack === p.stack
      ? `use the reference ${p.identity.reference}, or add ${p.identity.address} to its depends_on`
      : `make stack ${p.stack} depend on stack ${p.identity.stack} (addDependency)`;
  return `${p.stack}: ${p.address}: '${p.attribute}' holds "${p.identity.text}", the literal name of ${p.identity.address} (stack ${p.identity.stack}), and nothing orders it after that; ${fix}`;
}

/** Reads every stack of a synthesized app from `outdir` (`manifest.json` and each `cdk.tf.json`). */
export function readSynthesizedApp(outdir: string): SynthesizedStack[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { synthesizedStackPath: string; dependencies?: string[] }>;
  };
  return Object.entries(manifest.stacks).map(([name, s]) => ({
    name,
    json: JSON.parse(readFileSync(join(outdir, s.synthesizedStackPath), 'utf8')) as TerraformJson,
    dependencies: s.dependencies ?? [],
  }));
}

/** Expression roots that are not resources: variables, locals, modules, iteration and path values. */
const NON_RESOURCE_ROOTS: ReadonlySet<string> = new Set(['var', 'local', 'module', 'each', 'count', 'self', 'path', 'terraform']);

/**
 * The resource and data source addresses (`type.name`, `data.type.name`) that the stack's expressions refer to and it
 * does not declare: what a cdktf cross-stack reference resolves to when its preparing pass does not run.
 */
export function undeclaredReferences(json: TerraformJson): string[] {
  const declared = new Set<string>();
  for (const [type, instances] of Object.entries(json.resource ?? {}))
    for (const name of Object.keys(instances)) declared.add(`${type}.${name}`);
  for (const [type, instances] of Object.entries(json.data ?? {}))
    for (const name of Object.keys(instances)) declared.add(`data.${type}.${name}`);
  const out = new Set<string>();
  const visit = (_path: string, raw: string) => {
    for (const expr of expressionsOf(raw)) {
      for (const m of expr.matchAll(/(?<![\w."-])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
        if (NON_RESOURCE_ROOTS.has(m[2])) continue;
        const address = `${m[1] ?? ''}${m[2]}.${m[3]}`;
        if (!declared.has(address)) out.add(address);
      }
    }
  };
  for (const kind of ['resource', 'data', 'output'] as const) walk((json as Record<string, unknown>)[kind], '', visit);
  return [...out].sort();
}

/** The `${...}` expressions of a Terraform string (not `$${`, an escaped literal). */
function expressionsOf(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value.startsWith('$${', i)) {
      i += 2;
    } else if (value.startsWith('${', i)) {
      let depth = 0;
      let j = i + 1;
      for (; j < value.length; j++) {
        if (value[j] === '{') depth++;
        else if (value[j] === '}' && --depth === 0) break;
      }
      out.push(value.slice(i + 2, j));
      i = j;
    }
  }
  return out;
}
