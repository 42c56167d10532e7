import { GoogleAuth, googleFetch } from '../google/http';
import { C2CError } from '../errors';

/** The parts of Cloud Build's `Build` resource the gate reads (v1 REST, `projects.locations.builds.get`). */
export interface CloudBuildBuild {
  readonly id?: string;
  readonly substitutions?: Readonly<Record<string, string>>;
  readonly approval?: {
    readonly state?: 'STATE_UNSPECIFIED' | 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
    readonly result?: {
      readonly approverAccount?: string;
      readonly approvalTime?: string;
      readonly decision?: 'DECISION_UNSPECIFIED' | 'APPROVED' | 'REJECTED';
      readonly comment?: string;
      readonly url?: string;
    };
  };
}

/** Cloud Build's API. The gate reads approvals only from here; any other base URL is for tests of the library. */
export const CLOUDBUILD_BASE_URL = 'https://cloudbuild.googleapis.com';

/** Where the running build is: Cloud Build passes these to the step as env (see the production trigger). */
export interface CloudBuildContext {
  readonly project: string;
  readonly buildId: string;
  readonly location: string;
}

/**
 * Reads the build's coordinates from the step's environment: `C2C_BUILD_PROJECT`/`C2C_BUILD_ID`/`C2C_BUILD_LOCATION`
 * (what the platform's triggers set from `$PROJECT_ID`, `$BUILD_ID`, `$LOCATION`), else `PROJECT_ID`, `BUILD_ID`, `LOCATION`.
 */
export function cloudBuildContext(env: Readonly<Record<string, string | undefined>>): CloudBuildContext {
  const project = env.C2C_BUILD_PROJECT ?? env.PROJECT_ID ?? env.GOOGLE_CLOUD_PROJECT;
  const buildId = env.C2C_BUILD_ID ?? env.BUILD_ID;
  if (!project || !buildId) {
    throw new C2CError(
      'GATE_NO_BUILD_CONTEXT',
      "'--approval cloudbuild' needs C2C_BUILD_PROJECT and C2C_BUILD_ID (or PROJECT_ID and BUILD_ID) in the environment, and they are not set",
      {
        hint: 'run it as a step of the approved Cloud Build production build, or approve locally with `deploy approve` and use --approval local',
      },
    );
  }
  return { project, buildId, location: env.C2C_BUILD_LOCATION ?? env.LOCATION ?? 'global' };
}

/** GETs this build from the Cloud Build API with the build's own credentials. */
export async function fetchBuild(ctx: CloudBuildContext, auth: GoogleAuth, baseUrl = CLOUDBUILD_BASE_URL): Promise<CloudBuildBuild> {
  const url = `${baseUrl}/v1/projects/${encodeURIComponent(ctx.project)}/locations/${encodeURIComponent(ctx.location)}/builds/${encodeURIComponent(ctx.buildId)}`;
  try {
    const res = await googleFetch(url, {
      what: `read build ${ctx.buildId} from the Cloud Build API`,
      auth,
      headers: { accept: 'application/json' },
      deniedHint: 'the production service account needs cloudbuild.builds.get on its own builds (roles/cloudbuild.builds.viewer)',
    });
    return (await res.json()) as CloudBuildBuild;
  } catch (err) {
    if (!(err instanceof C2CError) || err.code === 'GOOGLE_AUTH') throw err;
    throw new C2CError('GATE_CLOUDBUILD_UNREACHABLE', err.message, { ...(err.hint ? { hint: err.hint } : {}), cause: err });
  }
}

/**
 * The plan id a build was started for: its `_PLAN_ID` substitution, else the file name of its `_PLAN_OBJECT`
 * substitution (`…/<plan id>.json`, the object the staging build uploaded). The approver approves that build, so
 * the approval covers exactly that plan id.
 */
export function approvedPlanId(build: CloudBuildBuild): string | undefined {
  const subs = build.substitutions ?? {};
  if (subs._PLAN_ID) return subs._PLAN_ID;
  const m = /([0-9a-f]{64})\.json$/.exec(subs._PLAN_OBJECT ?? '');
  return m ? m[1] : undefined;
}
