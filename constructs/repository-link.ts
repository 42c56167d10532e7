import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { Cloudbuildv2Repository } from '@cdktf/provider-google/lib/cloudbuildv2-repository';
import { PlatformConfig } from '../lib/platform';

/** Props of {@link repositoryLink}. */
export interface RepositoryLinkProps {
  /** Fleet settings (project, region). */
  readonly platform: Pick<PlatformConfig, 'project' | 'region'>;
  /** Name of the Cloud Build GitHub connection (2nd gen), created once in the console. */
  readonly connection: string;
  /** The repository, `owner/name`. */
  readonly repo: string;
  /**
   * What the link waits for: the repository and every seed file, so that no trigger is live while the seed commits
   * (one per file, about one a second) are still being written.
   * @default []
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** `projects/P/locations/R/connections/C`, the parent of a repository link. */
export function connectionId(platform: Pick<PlatformConfig, 'project' | 'region'>, connection: string): string {
  return `projects/${platform.project}/locations/${platform.region}/connections/${connection}`;
}

/**
 * The id of a repository link (`google_cloudbuildv2_repository`), `<connection id>/repositories/NAME`: what a
 * trigger's `repository` names. A literal (no reference token); triggers order after the link with `depends_on`.
 */
export function repositoryLinkId(platform: Pick<PlatformConfig, 'project' | 'region'>, connection: string, repo: string): string {
  return `${connectionId(platform, connection)}/repositories/${repo.split('/')[1]}`;
}

/**
 * The link of a GitHub repository to Cloud Build (2nd gen), declared once per repository (the platform's own, and
 * each service repository by the service that owns it), id `repository`.
 * @see https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloudbuildv2_repository
 */
export function repositoryLink(scope: Construct, props: RepositoryLinkProps): Cloudbuildv2Repository {
  const [owner, name] = props.repo.split('/');
  return new Cloudbuildv2Repository(scope, 'repository', {
    project: props.platform.project,
    location: props.platform.region,
    parentConnection: connectionId(props.platform, props.connection),
    name,
    remoteUri: `https://github.com/${owner}/${name}.git`,
    ...(props.dependsOn && props.dependsOn.length > 0 ? { dependsOn: [...props.dependsOn] } : {}),
  });
}
