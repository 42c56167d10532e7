import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { Repository } from '@cdktf/provider-github/lib/repository';
import { BranchDefault } from '@cdktf/provider-github/lib/branch-default';
import { BranchProtection } from '@cdktf/provider-github/lib/branch-protection';
import { RepositoryEnvironment } from '@cdktf/provider-github/lib/repository-environment';
import { RepositoryFile } from '@cdktf/provider-github/lib/repository-file';
import { escapeTerraform } from './terraform-escape';

/** Files GitHub's `auto_init` creates in a new repository (no gitignore or license template is set here). */
export const AUTO_INIT_FILES: readonly string[] = ['README.md'];

/** Props of {@link GithubRepository}. */
export interface GithubRepositoryProps {
  /** Repository name (without the owner). */
  readonly name: string;
  /**
   * One line shown on GitHub.
   * @default - none
   */
  readonly description?: string;
  /**
   * Adopt an existing repository: Terraform imports it (an `import` block) instead of creating it, and seeds no files.
   * @default false
   */
  readonly existing?: boolean;
  /**
   * The default branch, the one that is protected and deployed.
   * @default 'main'
   */
  readonly defaultBranch?: string;
  /**
   * Status checks that must pass before a pull request can merge into the default branch (the Cloud Build checks are
   * named `<trigger name> (<project>)`).
   * @default []
   * @see https://registry.terraform.io/providers/integrations/github/latest/docs/resources/branch_protection
   */
  readonly requiredChecks?: readonly string[];
  /**
   * Approving reviews a pull request needs.
   * @default 1
   */
  readonly requiredReviews?: number;
  /**
   * Files a NEW repository is seeded with once (path -> content). After creation the service owns them: Terraform
   * ignores later changes to the content. Only `README.md`, which GitHub's `auto_init` commit creates, is written over
   * that commit's file (`overwrite_on_create`); every other seed file refuses to overwrite an existing one.
   * @default {}
   */
  readonly seedFiles?: Readonly<Record<string, string>>;
  /**
   * `private`, `internal` or `public`.
   * @default 'private'
   */
  readonly visibility?: 'private' | 'internal' | 'public';
}

/**
 * A service's GitHub repository (created, or an existing one adopted), branch protection on the default branch that
 * requires the build's status check, a review and signed commits, a `production` environment limited to protected branches, and the
 * seed files (build.sh, Dockerfile, a tiny service) for a new repository.
 */
export class GithubRepository extends Construct {
  /** The repository. */
  readonly repository: Repository;
  /** The protection of the default branch. */
  readonly protection: BranchProtection;
  /** The `production` environment. */
  readonly environment: RepositoryEnvironment;
  /** The seeded files (none for an adopted repository). */
  readonly files: readonly RepositoryFile[];

  constructor(scope: Construct, id: string, props: GithubRepositoryProps) {
    super(scope, id);
    const branch = props.defaultBranch ?? 'main';
    this.repository = new Repository(this, 'repository', {
      name: props.name,
      description: props.description,
      visibility: props.visibility ?? 'private',
      autoInit: !props.existing,
      hasIssues: true,
      deleteBranchOnMerge: true,
      allowMergeCommit: false,
      vulnerabilityAlerts: true,
      archiveOnDestroy: true,
      topics: ['commit-to-cloud'],
      lifecycle: { ignoreChanges: props.existing ? ['auto_init', 'description', 'topics'] : ['auto_init'] },
    });
    if (props.existing) this.repository.importFrom(props.name);
    // One reference token, reused: every attribute read creates a token (and records a stack trace).
    const repositoryName = this.repository.name;

    const dependsOn: ITerraformDependable[] = [];
    if (!props.existing && branch !== 'main') {
      dependsOn.push(new BranchDefault(this, 'default-branch', { repository: repositoryName, branch, rename: true }));
    }
    const files = Object.entries(props.existing ? {} : (props.seedFiles ?? {}))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([path, content]) =>
          new RepositoryFile(this, `seed-${path.replace(/[^A-Za-z0-9]+/g, '-')}`, {
            repository: repositoryName,
            branch,
            file: path,
            content: escapeTerraform(content),
            commitMessage: `Seed ${path} from commit-to-cloud (the service owns it from now on)`,
            // auto_init's first commit holds README.md only: seeding it must replace that file, or the provider refuses.
            overwriteOnCreate: AUTO_INIT_FILES.includes(path),
            lifecycle: { ignoreChanges: ['content', 'commit_message', 'commit_author', 'commit_email'] },
            dependsOn: [...dependsOn],
          }),
      );
    this.files = files;

    // Created after the seed commits, which go straight to the default branch.
    this.protection = new BranchProtection(this, 'default-branch-protection', {
      repositoryId: this.repository.nodeId,
      pattern: branch,
      enforceAdmins: true,
      allowsDeletions: false,
      allowsForcePushes: false,
      requiredLinearHistory: true,
      // Every commit on the branch carries a signature: the push build verifies it against the platform's allowed signers
      // and records the signer as the commit's author, whom the production gate's four-eyes rule then excludes.
      requireSignedCommits: true,
      requiredStatusChecks: [{ strict: true, contexts: [...(props.requiredChecks ?? [])] }],
      requiredPullRequestReviews: [{ requiredApprovingReviewCount: props.requiredReviews ?? 1, dismissStaleReviews: true }],
      dependsOn: [...dependsOn, ...files],
    });
    this.environment = new RepositoryEnvironment(this, 'production-environment', {
      repository: repositoryName,
      environment: 'production',
      // No `prevent_self_review`: it only acts on required reviewers, and production approval is Cloud Build's
      // (the production trigger's approval, four-eyes in the deploy gate), not a GitHub environment review.
      deploymentBranchPolicy: { protectedBranches: true, customBranchPolicies: false },
    });
  }
}
