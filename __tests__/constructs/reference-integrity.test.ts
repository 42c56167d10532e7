import {
  formatReferenceProblem,
  identitiesOf,
  literalText,
  readSynthesizedApp,
  referenceProblems,
  undeclaredReferences,
  SynthesizedStack,
} from '../../constructs/reference-integrity';
import { fixtureFleet } from '../fixtures/services';
import { synthFleet, tempWorkspace } from './helpers';

const ws = tempWorkspace();
afterAll(() => ws.cleanup());

const provider = { google: [{ project: 'p1' }], github: [{ owner: 'acme' }] };
const platformStack = (extra: Record<string, Record<string, Record<string, unknown>>> = {}): SynthesizedStack => ({
  name: 'platform',
  json: {
    provider,
    resource: {
      google_storage_bucket: { deploy: { name: 'p1-c2c-deploy', location: 'EU' } },
      google_service_account: { build: { account_id: 'c2c-build' } },
      google_pubsub_topic: { plans: { name: 'c2c-plans' } },
      ...extra,
    },
  },
});

describe('literalText', () => {
  it('drops interpolations, keeps escaped ones as text', () => {
    expect(literalText('gs://${google_storage_bucket.x.name}/a')).toBe('gs://\u0000/a');
    expect(literalText('echo $${HOME} ${f({"a" = 1})}')).toBe('echo ${HOME} \u0000');
  });
});

describe('referenceProblems', () => {
  it('flags a bucket name written into another resource of the same stack, naming the reference to use', () => {
    const stacks = [
      platformStack({
        google_storage_bucket_iam_member: { reader: { bucket: 'p1-c2c-deploy', role: 'roles/storage.objectViewer', member: 'group:x@y' } },
      }),
    ];
    expect(referenceProblems(stacks).map(formatReferenceProblem)).toEqual([
      'platform: google_storage_bucket_iam_member.reader: \'bucket\' holds "p1-c2c-deploy", the literal name of google_storage_bucket.deploy (stack platform), and nothing orders it after that; use the reference ${google_storage_bucket.deploy.name}, or add google_storage_bucket.deploy to its depends_on',
    ]);
  });

  it('flags a service account e-mail and a topic id inside longer strings, across stacks', () => {
    const service: SynthesizedStack = {
      name: 'service-a',
      json: {
        provider,
        resource: {
          google_cloudbuild_trigger: {
            push: {
              name: 'a-push',
              service_account: 'projects/p1/serviceAccounts/c2c-build@p1.iam.gserviceaccount.com',
              pubsub_config: { topic: 'projects/p1/topics/c2c-plans' },
              build: { step: [{ args: ['-c', 'gsutil cp x gs://p1-c2c-deploy/plans/'] }] },
            },
          },
        },
      },
    };
    const found = referenceProblems([platformStack(), service]).map((p) => [p.address, p.attribute, p.identity.reference]);
    expect(found).toEqual([
      ['google_cloudbuild_trigger.push', 'service_account', '${google_service_account.build.email}'],
      ['google_cloudbuild_trigger.push', 'pubsub_config.topic', '${google_pubsub_topic.plans.id}'],
      ['google_cloudbuild_trigger.push', 'build.step[0].args[1]', '${google_storage_bucket.deploy.name}'],
    ]);
    expect(formatReferenceProblem(referenceProblems([platformStack(), service])[0])).toContain(
      'make stack service-a depend on stack platform (addDependency)',
    );
    // Applied after the platform stack (directly or through another stack), the same literals are ordered.
    expect(referenceProblems([platformStack(), { ...service, dependencies: ['platform'] }])).toEqual([]);
    const middle: SynthesizedStack = { name: 'middle', json: { provider }, dependencies: ['platform'] };
    expect(referenceProblems([platformStack(), middle, { ...service, dependencies: ['middle'] }])).toEqual([]);
  });

  it('accepts a literal in the same stack when depends_on names the resource, and only that resource', () => {
    const binding = (deps: string[]) =>
      platformStack({
        google_storage_bucket_iam_member: { reader: { bucket: 'p1-c2c-deploy', member: 'group:x@y', depends_on: deps } },
      });
    expect(referenceProblems([binding(['google_storage_bucket.deploy'])])).toEqual([]);
    expect(referenceProblems([binding(['google_pubsub_topic.plans'])]).map((p) => p.identity.address)).toEqual([
      'google_storage_bucket.deploy',
    ]);
  });

  it('flags a repository link named by its resource path and a GitHub repository named by its URL', () => {
    const stacks: SynthesizedStack[] = [
      {
        name: 'service-a',
        json: {
          provider,
          resource: {
            github_repository: { repo: { name: 'lamp' } },
            google_cloudbuildv2_repository: {
              link: {
                name: 'lamp',
                parent_connection: 'projects/p1/locations/eu/connections/gh',
                remote_uri: 'https://github.com/acme/lamp.git',
              },
            },
            google_cloudbuild_trigger: {
              pr: { name: 'lamp-pr', repository_event_config: { repository: 'projects/p1/locations/eu/connections/gh/repositories/lamp' } },
            },
            github_repository_file: { f: { repository: 'lamp', file: 'README.md', content: 'lamp' } },
          },
        },
      },
    ];
    expect(referenceProblems(stacks).map((p) => [p.address, p.attribute, p.identity.reference])).toEqual([
      ['google_cloudbuildv2_repository.link', 'remote_uri', '${github_repository.repo.html_url}'],
      ['google_cloudbuild_trigger.pr', 'repository_event_config.repository', '${google_cloudbuildv2_repository.link.id}'],
      ['github_repository_file.f', 'repository', '${github_repository.repo.name}'],
    ]);
  });

  it('accepts references, remote-state outputs, a longer name that only starts alike, names of things the app does not create', () => {
    const stacks = [
      platformStack({
        google_storage_bucket_iam_member: {
          a: { bucket: '${google_storage_bucket.deploy.name}', member: 'serviceAccount:${google_service_account.build.email}' },
          b: { bucket: '${data.terraform_remote_state.x.outputs.y}', member: 'group:x@y' },
          c: { bucket: 'p1-c2c-deploy-old', member: 'group:x@y' },
          d: { bucket: 'p1-tfstate', member: 'user:c2c-build@example.com' },
        },
      }),
    ];
    expect(referenceProblems(stacks)).toEqual([]);
  });

  it('collects the identities of every kind of resource it knows, and any other resource by its name', () => {
    const texts = identitiesOf([
      platformStack({
        google_cloudbuild_worker_pool: { pool: { name: 'c2c-private', location: 'eu' } },
        google_secret_manager_secret: { s: { secret_id: 'c2c-marathon-staging' } },
        google_compute_global_address: { r: { name: 'c2c-private-peering' } },
      }),
    ]).map((i) => `${i.match}:${i.text}`);
    expect(texts).toEqual(
      expect.arrayContaining([
        'contains:p1-c2c-deploy',
        'exact:c2c-build',
        'contains:c2c-build@p1.iam.gserviceaccount.com',
        'contains:projects/p1/topics/c2c-plans',
        'contains:projects/p1/locations/eu/workerPools/c2c-private',
        'contains:projects/p1/secrets/c2c-marathon-staging',
        'exact:c2c-private-peering',
      ]),
    );
  });
});

it('the synthesized fixture fleet holds no literal name of anything it creates without ordering it after that', () => {
  const { outdir, stacks } = synthFleet(ws.app(), ws.bundle, fixtureFleet);
  expect(Object.keys(stacks).length).toBe(fixtureFleet.length + 1);
  const problems = referenceProblems(readSynthesizedApp(outdir));
  expect(problems.map(formatReferenceProblem)).toEqual([]);
});

describe('undeclaredReferences', () => {
  it('names the addresses an expression refers to that the stack does not declare (a cross-stack reference left unprepared)', () => {
    const json = {
      resource: {
        google_storage_bucket: { deploy: { name: 'b' } },
        google_cloudbuild_trigger: {
          t: {
            name: 't',
            substitutions: { a: '${google_storage_bucket.deploy.name}', b: '${google_storage_bucket_object.bundle_X.generation}' },
            build: {
              step: [{ args: ['echo $${google_fake.x} ${base64encode(jsonencode({"a" = data.terraform_remote_state.p.outputs.x}))}'] }],
            },
          },
        },
      },
      data: { terraform_remote_state: { p: {} } },
    };
    expect(undeclaredReferences(json)).toEqual(['google_storage_bucket_object.bundle_X']);
  });
});
