/**
 * The images the synthesized steps run in, and the local stand-in that takes each one's place here (nothing can be
 * pulled from outside). One table: what the real image is, what the stand-in contains, and what it lacks. A stand-in
 * holds what the real image holds and no more, so a step that calls a tool its image does not have fails here as it
 * would in Cloud Build. Images this machine cannot stand in for are listed as not runnable, with the reason.
 */
import { C2CError } from '../errors';

/** Where a stand-in's files come from: host files copied to the same path, with the shared libraries they load. */
export interface StandInRecipe {
  /** Executables (host paths, copied to the same path; `/bin` is a link to `/usr/bin` as in Debian 12). */
  readonly bins: readonly string[];
  /** Whole directories copied as they are (npm, git's helpers). */
  readonly dirs?: readonly string[];
  /** Links to make: `[link, target]`. */
  readonly links?: readonly (readonly [string, string])[];
  /**
   * Ship this machine's Node runtime (at `/usr/local/bin/node`, as the Node images have it) and npm, with npm's global
   * config set to `offline` against the cache the runner mounts at `/root/.npm` (the registry cannot be reached here).
   */
  readonly node?: boolean;
  /** Files written into the image: `[path, content]`. */
  readonly files?: readonly (readonly [string, string])[];
  /** The image's entrypoint (exec form). */
  readonly entrypoint?: readonly string[];
}

/** One row of the table. */
export interface ImageRow {
  /** The real image, for the table. */
  readonly image: string;
  /** Which step images it covers: tested against the name without its digest (`node:20.18.0`). */
  readonly match: RegExp;
  /** What the real image is. */
  readonly real: string;
  /** The local tag of the stand-in; absent when the image cannot run here. */
  readonly standIn?: string;
  /** What the stand-in contains. */
  readonly contains?: string;
  /** What the real image has that the stand-in lacks (a step needing it fails here, not in the cloud). */
  readonly lacks?: string;
  readonly recipe?: StandInRecipe;
  /** Why steps in this image cannot run here. */
  readonly notRunnable?: string;
  /**
   * The image runs here only as the build's registry side-car, started by a docker step (`docker run -d ... IMAGE`):
   * the executor runs that `docker run` with the stand-in in the image's place, its storage on the container's disk
   * instead of the GCS bucket (the `REGISTRY_STORAGE*` variables dropped) and its published ports on 127.0.0.1
   * (sidecar.ts); the step is reported as `ok (stood in: ...)`.
   */
  readonly sidecar?: string;
}

/** The registry:2 image's own configuration (filesystem storage under /var/lib/registry, HTTP on :5000). */
const REGISTRY_CONFIG = [
  'version: 0.1',
  'log:',
  '  fields:',
  '    service: registry',
  'storage:',
  '  cache:',
  '    blobdescriptor: inmemory',
  '  filesystem:',
  '    rootdirectory: /var/lib/registry',
  'http:',
  '  addr: :5000',
  '  headers:',
  '    X-Content-Type-Options: [nosniff]',
  'health:',
  '  storagedriver:',
  '    enabled: true',
  '    interval: 10s',
  '    threshold: 3',
  '',
].join('\n');

const SHELL_TOOLS = [
  'bash', 'dash', 'cat', 'cut', 'sha256sum', 'chmod', 'mkdir', 'rm', 'cp', 'mv', 'ls', 'echo', 'sleep', 'seq', 'head',
  'tail', 'tr', 'date', 'basename', 'dirname', 'env', 'true', 'false', 'test', 'wc', 'sort', 'uniq', 'tee', 'touch',
  'ln', 'id', 'printf', 'mktemp', 'readlink', 'uname', 'grep', 'sed', 'tar', 'gzip', 'find', 'xargs',
].map((b) => `/usr/bin/${b}`); // prettier-ignore

const DEBIAN_BASE = 'bash, sh (dash), coreutils, grep, sed, tar, gzip, findutils';
const STAND_IN_PREFIX = 'c2c-standin/';

/** The table. Tags carry the Node version where the stand-in ships this machine's Node. */
export function imageTable(nodeVersion: string = process.versions.node): readonly ImageRow[] {
  return [
    {
      image: 'node:20-slim',
      match: /^node:20(\.\d+)*-slim$/,
      real: 'Debian 12 slim with Node.js 20 and npm (no git, no curl, no wget, no compiler)',
      standIn: `${STAND_IN_PREFIX}node-slim:${nodeVersion}`,
      contains: `${DEBIAN_BASE}; node ${nodeVersion} (this machine's), npm, npx (offline, against this machine's npm cache)`,
      lacks: 'perl-base and the Debian package tools (apt, dpkg); no step uses them',
      recipe: { bins: SHELL_TOOLS, node: true },
    },
    {
      image: 'node:20',
      match: /^node:20(\.\d+)*$/,
      real: 'Debian 12 (buildpack-deps) with Node.js 20: git, curl, wget, make, gcc, python3, ...',
      standIn: `${STAND_IN_PREFIX}node:${nodeVersion}`,
      contains: `${DEBIAN_BASE}; node ${nodeVersion}, npm, npx (offline, this machine's npm cache); git (without its remote helpers: no clone or fetch over HTTPS), ssh-keygen (git verifies SSH-signed commits with it), curl, make`,
      lacks: 'gcc, g++, python3, wget, the ssh client and the other buildpack-deps packages: a build.sh that needs them fails here only',
      recipe: {
        bins: [...SHELL_TOOLS, '/usr/bin/git', '/usr/bin/ssh-keygen', '/usr/bin/curl', '/usr/bin/make'],
        dirs: ['/etc/ssl/certs'],
        node: true,
      },
    },
    {
      image: 'gcr.io/cloud-builders/docker',
      match: /^gcr\.io\/cloud-builders\/docker(:[\w.-]+)?$/,
      real: "Ubuntu with the docker CLI (talks to the build host's engine through /var/run/docker.sock)",
      standIn: `${STAND_IN_PREFIX}docker-builder:4`,
      contains: `${DEBIAN_BASE}, awk (mawk, as Ubuntu's); the docker CLI (Debian's 20.10, this engine's version: BuildKit built in, no buildx plugin needed)`,
      lacks: 'the Ubuntu package set beyond the shell tools and awk; no node, no git',
      // The real image's entrypoint is the docker CLI: a step with `args` only (the registry side-car) runs `docker ARGS`.
      recipe: {
        bins: [...SHELL_TOOLS, '/usr/bin/docker', '/usr/bin/mawk'],
        links: [['/usr/bin/awk', 'mawk']],
        entrypoint: ['docker'],
      },
    },
    {
      image: 'gcr.io/google.com/cloudsdktool/cloud-sdk',
      match: /^gcr\.io\/google\.com\/cloudsdktool\/cloud-sdk(:[\w.-]+)?$/,
      real: 'Debian with the Google Cloud SDK (gcloud, gsutil, bq) and python3',
      notRunnable:
        'the Google Cloud SDK (1.9 GB, python) cannot be made into an image here and talks only to Google; the platform pipeline steps that use it (upload-production-plans, fetch-plan, record-approval) are not run',
    },
    {
      image: 'hashicorp/terraform',
      match: /^hashicorp\/terraform(:[\w.-]+)?$/,
      real: 'Alpine with terraform',
      notRunnable: 'terraform init needs the provider registry, which this machine cannot reach; Terraform steps are never faked',
    },
    {
      image: 'registry',
      match: /^(mirror\.gcr\.io\/library\/)?registry(:[\w.-]+)?$/,
      real: 'the Docker registry (distribution 2.8.3), here with its GCS storage driver',
      standIn: `${STAND_IN_PREFIX}registry:2`,
      contains: "this machine's Debian docker-registry (distribution 2.8.2), registry:2's config.yml (filesystem storage, :5000)",
      lacks: 'the GCS storage driver against the real bucket: images pushed in a build here live in the side-car container and go with it',
      recipe: {
        bins: ['/usr/bin/docker-registry'],
        files: [['/etc/docker/registry/config.yml', REGISTRY_CONFIG]],
        entrypoint: ['/usr/bin/docker-registry', 'serve', '/etc/docker/registry/config.yml'],
      },
      sidecar: 'the registry bucket in Google Cloud Storage cannot be reached here: the side-car keeps its storage on its own disk',
    },
  ];
}

/** The row for an image a step names (its name without a digest decides), or undefined when none fits. */
export function imageRowFor(image: string, table: readonly ImageRow[] = imageTable()): ImageRow | undefined {
  const bare = image.replace(/@sha256:[0-9a-f]{64}$/, '');
  return table.find((row) => row.match.test(bare));
}

/**
 * The stand-in tag for a step's image.
 * @throws C2CError STEP_NOT_RUNNABLE when the image cannot run here (terraform, the Cloud SDK) or is unknown
 */
export function standInFor(image: string, table: readonly ImageRow[] = imageTable()): string {
  const row = imageRowFor(image, table);
  if (!row) {
    throw new C2CError('STEP_NOT_RUNNABLE', `no local stand-in for image ${image}; nothing can be pulled on this machine`, {
      hint: 'the stand-ins are listed in docs/pipeline.md ("Run a pipeline on your machine"); add a row to lib/cloudbuild/images.ts',
    });
  }
  if (!row.standIn) throw new C2CError('STEP_NOT_RUNNABLE', `${image} cannot run here: ${row.notRunnable}`);
  return row.standIn;
}
