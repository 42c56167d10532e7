// What a first `cdktf deploy` and the pipeline right after it need, checked on the whole synthesized app (every stack),
// so that no class of these defects can come back: APIs declared and waited for, the notifier's start-up, nothing
// from a pull request reaching a write credential, every step image pinned, triggers live only on a complete tree,
// and an apply account that may set every binding it declares.
import { RESOURCE_APIS } from '../../constructs/project-apis';
import { RESOURCE_IAM_ROLES, SERVICE_ACCOUNT_ROLES } from '../../constructs/service-accounts';
import { PINNED_IMAGE } from '../../constructs/build-steps';
import { githubTokenSecrets } from '../../constructs/platform-pipeline';
import { fixtureFleet } from '../fixtures/services';
import { platform, SynthJson, synthFleet, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());
const { stacks } = synthFleet(ws.app(), ws.bundle, fixtureFleet);
const platformJson = stacks.platform;

type Resource = Record<string, unknown> & { depends_on?: string[] };
/** Every resource (and, with `data`, data source) of a stack: [address, type, body]. */
function all(json: SynthJson, kinds: readonly ('resource' | 'data')[] = ['resource']): [string, string, Resource][] {
  return kinds.flatMap((kind) =>
    Object.entries((json[kind] ?? {}) as Record<string, Record<string, Resource>>).flatMap(([type, instances]) =>
      Object.entries(instances).map(([name, r]): [string, string, Resource] => [
        `${kind === 'data' ? 'data.' : ''}${type}.${name}`,
        type,
        r,
      ]),
    ),
  );
}
const triggers = () =>
  Object.values(stacks).flatMap((json) =>
    all(json)
      .filter(([, type]) => type === 'google_cloudbuild_trigger')
      .map(([, , r]) => r as Resource & TriggerJson),
  );
interface TriggerJson {
  name: string;
  service_account: string;
  repository_event_config?: { pull_request?: unknown };
  build: {
    step: { id: string; name: string; args?: string[]; secret_env?: string[] }[];
    available_secrets?: { secret_manager: { env: string; version_name: string }[] };
  };
}

describe('APIs: a table from resource type to the Google API it needs', () => {
  it('knows every resource and data source type of every stack', () => {
    const types = new Set(Object.values(stacks).flatMap((json) => all(json, ['resource', 'data']).map(([, type]) => type)));
    expect([...types].filter((t) => !(t in RESOURCE_APIS))).toEqual([]);
  });

  it('declares every API of the table as a google_project_service, never turned off on destroy', () => {
    const declared = all(platformJson)
      .filter(([, type]) => type === 'google_project_service')
      .map(([, , r]) => [r.service, r.disable_on_destroy, r.project]);
    const needed = [...new Set(Object.values(RESOURCE_APIS).filter((a) => a !== null))].sort();
    expect(declared.map(([api]) => api).sort()).toEqual(needed);
    expect(needed).toEqual(expect.arrayContaining(['run.googleapis.com', 'cloudbuild.googleapis.com', 'servicenetworking.googleapis.com']));
    for (const [, off, project] of declared) expect([off, project]).toEqual([false, platform.project]);
  });

  it('makes every resource and data source of the platform stack wait for its API', () => {
    const apiAddress = new Map(
      all(platformJson)
        .filter(([, type]) => type === 'google_project_service')
        .map(([address, , r]) => [r.service as string, address]),
    );
    const missing = all(platformJson, ['resource', 'data'])
      .filter(([, type]) => RESOURCE_APIS[type])
      .filter(([, type, r]) => !(r.depends_on ?? []).includes(apiAddress.get(RESOURCE_APIS[type]!)!))
      .map(([address]) => address);
    expect(missing).toEqual([]);
  });

  it('service stacks are applied after the platform stack, which enables their APIs', () => {
    for (const s of fixtureFleet) expect(JSON.stringify(stacks[`service-${s.name}`])).not.toContain('google_project_service');
  });
});

describe('Cloud Run: every grant to its runtime account and every secret it reads at start-up come first', () => {
  const services = all(platformJson).filter(([, type]) => type === 'google_cloud_run_v2_service');

  it('depends on every grant to its runner, and on a version of every secret the runner may read', () => {
    expect(services.length).toBeGreaterThan(0);
    for (const [address, , svc] of services) {
      const runner = /^\$\{google_service_account\.([^.]+)\.email\}$/.exec(
        String((svc.template as { service_account: string }).service_account),
      )![1];
      const member = `\${google_service_account.${runner}.member}`;
      const grants = all(platformJson).filter(([, type, r]) => type.endsWith('_iam_member') && r.member === member);
      expect(grants.length).toBeGreaterThanOrEqual(2);
      for (const [grant] of grants) expect([address, svc.depends_on]).toEqual([address, expect.arrayContaining([grant])]);
      const secrets = grants.filter(([, type]) => type === 'google_secret_manager_secret_iam_member').map(([, , r]) => String(r.secret_id));
      const versions = all(platformJson, ['data'])
        .filter(([, type]) => type === 'google_secret_manager_secret_version')
        .filter(([a]) => svc.depends_on!.includes(a))
        .map(([, , r]) => String(r.secret));
      expect(versions.sort()).toEqual(secrets.sort());
    }
  });
});

describe('pull requests: no step can read a secret that writes, and the account they run as can write nothing', () => {
  const prTriggers = () => triggers().filter((t) => t.repository_event_config?.pull_request !== undefined);
  const readOnlySecrets = new Set([githubTokenSecrets({}).read]);

  it('every secret a pull-request build may read is read-only', () => {
    expect(
      prTriggers()
        .map((t) => t.name)
        .sort(),
    ).toEqual(['lamp-api-pr', 'ledger-pr', 'platform-pr', 'shopfront-pr'].sort());
    for (const t of prTriggers()) {
      for (const s of t.build.available_secrets?.secret_manager ?? []) {
        const secret = /\/secrets\/([^/]+)\/versions\//.exec(s.version_name)![1];
        expect([t.name, secret, readOnlySecrets.has(secret)]).toEqual([t.name, secret, true]);
      }
    }
  });

  it('their accounts hold read-only roles and read only read-only secrets', () => {
    const accounts = new Map(
      all(platformJson)
        .filter(([, type]) => type === 'google_service_account')
        .map(([address, , r]) => [`${String(r.account_id)}@${platform.project}.iam.gserviceaccount.com`, address]),
    );
    const emailOf = (sa: string) => {
      const m = /serviceAccounts\/(.+)$/.exec(sa)![1];
      const ref = /^\$\{(google_service_account\.[^.]+)\.email\}$/.exec(m);
      return ref ? [...accounts].find(([, a]) => a === ref[1])![0] : m;
    };
    const readOnly = new Set(['roles/logging.logWriter', 'roles/viewer', 'roles/iam.securityReviewer', 'roles/storage.objectViewer']);
    for (const t of prTriggers()) {
      const email = emailOf(t.service_account);
      const members = [`\${${accounts.get(email)}.member}`, `serviceAccount:${email}`];
      const granted = all(platformJson).filter(([, type, r]) => type.endsWith('_iam_member') && members.includes(String(r.member)));
      expect(granted.length).toBeGreaterThan(0);
      for (const [address, type, r] of granted) {
        const ok =
          type === 'google_secret_manager_secret_iam_member' ? readOnlySecrets.has(String(r.secret_id)) : readOnly.has(String(r.role));
        expect([t.name, address, r.role, ok]).toEqual([t.name, address, r.role, true]);
      }
    }
  });
});

describe('step images', () => {
  it('every step image of every trigger carries a digest', () => {
    const steps = triggers().flatMap((t) => t.build.step.map((s) => [t.name, s.id, s.name]));
    expect(steps.length).toBeGreaterThan(20);
    for (const [t, id, image] of steps) expect([t, id, image]).toEqual([t, id, expect.stringMatching(PINNED_IMAGE)]);
  });

  it('an image a step pulls itself (the registry sidecar) is pinned too and comes through mirror.gcr.io', () => {
    const sidecars = triggers().flatMap((t) => t.build.step.filter((s) => s.id === 'registry-sidecar'));
    expect(sidecars.length).toBeGreaterThan(0);
    for (const s of sidecars) expect(s.args!.at(-1)).toMatch(/^mirror\.gcr\.io\/library\/registry:[^@]+@sha256:[0-9a-f]{64}$/);
  });
});

describe('repository links', () => {
  it('every link waits for its repository and every seed file, and every trigger waits for its link', () => {
    let links = 0;
    for (const json of Object.values(stacks)) {
      const files = all(json).filter(([, type]) => type === 'github_repository_file');
      const repos = all(json).filter(([, type]) => type === 'github_repository');
      for (const [address, , link] of all(json).filter(([, type]) => type === 'google_cloudbuildv2_repository')) {
        links++;
        const waits = link.depends_on ?? [];
        for (const [dep] of [...repos, ...files]) expect([address, waits.includes(dep)]).toEqual([address, true]);
        for (const [t, , trigger] of all(json).filter(([, type]) => type === 'google_cloudbuild_trigger'))
          expect([t, trigger.depends_on]).toEqual([t, expect.arrayContaining([address])]);
      }
    }
    expect(links).toBe(fixtureFleet.length + 1);
  });
});

describe('the platform apply account', () => {
  it('holds, for every kind of binding the app declares, a role that may set it', () => {
    const kinds = new Set(
      Object.values(stacks).flatMap((json) =>
        all(json)
          .map(([, type]) => type)
          .filter((t) => t.endsWith('_iam_member')),
      ),
    );
    const roles: readonly string[] = SERVICE_ACCOUNT_ROLES.platformApply;
    for (const kind of kinds) expect([kind, roles.includes(RESOURCE_IAM_ROLES[kind])]).toEqual([kind, true]);
  });
});

describe('labels', () => {
  it("writes the provider's default label once, as the resources write it", () => {
    for (const json of Object.values(stacks)) {
      const provider = (json.provider as { google: { default_labels?: Record<string, string> }[] }).google[0];
      expect(provider.default_labels).toEqual({ 'managed-by': 'commit-to-cloud' });
    }
    expect(JSON.stringify(stacks)).not.toContain('managed_by');
  });
});
