import { Construct, IConstruct } from 'constructs';
import { Aspects, dependable, IAspect, TerraformDataSource, TerraformResource } from 'cdktf';
import { ProjectService } from '@cdktf/provider-google/lib/project-service';

/**
 * Every Terraform resource and data source type this app declares, and the Google API it needs (`null`: none, e.g.
 * GitHub's). A type missing here fails synth (see {@link ProjectApis}), so a new resource cannot be added without
 * saying which API it needs; the platform stack declares every API of this table as a `google_project_service`.
 * @see https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_service
 */
export const RESOURCE_APIS: Readonly<Record<string, string | null>> = {
  google_storage_bucket: 'storage.googleapis.com',
  google_storage_bucket_iam_member: 'storage.googleapis.com',
  google_storage_bucket_object: 'storage.googleapis.com',
  google_storage_notification: 'storage.googleapis.com',
  google_storage_project_service_account: 'storage.googleapis.com',
  google_pubsub_topic: 'pubsub.googleapis.com',
  google_pubsub_topic_iam_member: 'pubsub.googleapis.com',
  google_pubsub_subscription: 'pubsub.googleapis.com',
  google_service_account: 'iam.googleapis.com',
  google_service_account_iam_member: 'iam.googleapis.com',
  google_project_iam_member: 'cloudresourcemanager.googleapis.com',
  google_project: 'cloudresourcemanager.googleapis.com',
  google_secret_manager_secret: 'secretmanager.googleapis.com',
  google_secret_manager_secret_iam_member: 'secretmanager.googleapis.com',
  google_secret_manager_secret_version: 'secretmanager.googleapis.com',
  google_cloudbuild_trigger: 'cloudbuild.googleapis.com',
  google_cloudbuild_worker_pool: 'cloudbuild.googleapis.com',
  google_cloudbuildv2_repository: 'cloudbuild.googleapis.com',
  google_compute_global_address: 'compute.googleapis.com',
  google_service_networking_connection: 'servicenetworking.googleapis.com',
  google_service_networking_peered_dns_domain: 'servicenetworking.googleapis.com',
  google_cloud_run_v2_service: 'run.googleapis.com',
  google_cloud_run_v2_service_iam_member: 'run.googleapis.com',
  google_cloud_scheduler_job: 'cloudscheduler.googleapis.com',
  // Service Usage itself is on in every project (it is how the others are turned on).
  google_project_service: null,
  github_repository: null,
  github_branch_default: null,
  github_branch_protection: null,
  github_repository_environment: null,
  github_repository_file: null,
  terraform_remote_state: null,
};

/** Every API of {@link RESOURCE_APIS}, sorted. */
export function requiredApis(): string[] {
  return [...new Set(Object.values(RESOURCE_APIS).filter((a): a is string => a !== null))].sort();
}

/** A resource or data source's Terraform type. */
function typeOf(node: IConstruct): string | undefined {
  if (TerraformResource.isTerraformResource(node)) return node.terraformResourceType;
  if (node instanceof TerraformDataSource) return node.terraformResourceType;
  return undefined;
}

/** Props of {@link ProjectApis}. */
export interface ProjectApisProps {
  /** Google Cloud project. */
  readonly project: string;
}

/**
 * The project's Google APIs as `google_project_service` resources (never turned off on destroy: other things in the
 * project may use them), and `depends_on` from every resource and data source of the stack to the API it needs, so
 * that nothing is created before its API answers.
 */
export class ProjectApis extends Construct {
  /** The API resources, by API name. */
  readonly services: Readonly<Record<string, ProjectService>>;

  constructor(scope: Construct, id: string, props: ProjectApisProps) {
    super(scope, id);
    const services: Record<string, ProjectService> = {};
    for (const api of requiredApis()) {
      services[api] = new ProjectService(this, api.split('.')[0], { project: props.project, service: api, disableOnDestroy: false });
    }
    this.services = services;
    const wire: IAspect = {
      visit: (node) => {
        const api = apiOf(node);
        if (api === undefined || api === null || node.node.scope === this) return;
        const target = node as TerraformResource | TerraformDataSource;
        const dep = dependable(services[api]);
        if (!(target.dependsOn ?? []).includes(dep)) target.dependsOn = [...(target.dependsOn ?? []), dep];
      },
    };
    Aspects.of(scope).add(wire);
  }
}

/**
 * The API a resource or data source needs; `undefined` for a construct that is neither.
 * @throws Error naming the type when it is not in {@link RESOURCE_APIS}
 */
export function apiOf(node: IConstruct): string | null | undefined {
  const type = typeOf(node);
  if (type === undefined) return undefined;
  if (!(type in RESOURCE_APIS))
    throw new Error(
      `${node.node.path}: resource type ${type} is not in RESOURCE_APIS (constructs/project-apis.ts); add it with the API it needs`,
    );
  return RESOURCE_APIS[type];
}

/** Checks at synth that every resource type of `scope` is in {@link RESOURCE_APIS} (stacks whose APIs another declares). */
export function checkApis(scope: Construct): void {
  Aspects.of(scope).add({ visit: (node) => void apiOf(node) });
}
