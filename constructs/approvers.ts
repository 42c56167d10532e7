import { Construct } from 'constructs';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceDefinition } from '../lib/catalog/types';
import { memberId } from './iam-id';

/** The Cloud Build role that may approve or reject a build waiting for approval. */
export const APPROVER_ROLE = 'roles/cloudbuild.builds.approver';

/** Props of {@link Approvers}. */
export interface ApproversProps {
  /** Google Cloud project. */
  readonly project: string;
  /** The services whose `approvers` get the approver role. */
  readonly services: readonly ServiceDefinition[];
  /**
   * Further members who approve the platform's own production-side Terraform plans.
   * @default []
   */
  readonly platformApprovers?: readonly string[];
}

/**
 * Grants the Cloud Build approver role to every reviewer of the fleet, once per member. Cloud Build grants the role on
 * the project (it has no per-trigger IAM and no IAM condition that names a trigger), so the binding lives in the
 * platform stack, deduplicated: two services sharing a reviewer never fight over one binding. Which reviewer may
 * approve which service is enforced by the deploy gate, which checks the approver against the service's `approvers`.
 */
export class Approvers extends Construct {
  /** The members granted the role, sorted. */
  readonly members: readonly string[];

  constructor(scope: Construct, id: string, props: ApproversProps) {
    super(scope, id);
    const all = new Set<string>(props.platformApprovers ?? []);
    for (const s of props.services) for (const a of s.approvers) all.add(a);
    this.members = [...all].sort();
    for (const member of this.members) {
      new ProjectIamMember(this, memberId(member), { project: props.project, role: APPROVER_ROLE, member });
    }
  }
}
