import { Construct } from 'constructs';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceDefinition } from '../lib/catalog/types';
import { ValidationError, Violation } from '../lib/errors';
import { memberId } from './iam-id';

/** The Cloud Build role that may approve or reject a build waiting for approval. */
export const APPROVER_ROLE = 'roles/cloudbuild.builds.approver';

/**
 * Which IAM principals an approver named in a service file stands for: `{ "user:ana@acme-lighting.example":
 * ["user:ana@acme.com"] }`. Platform configuration (`C2C_APPROVERS`), not service data: IAM rejects a principal that
 * does not exist, so the example fleet's names must never reach IAM as they are.
 */
export type ApproverPrincipals = Readonly<Record<string, readonly string[]>>;

/** Props of {@link Approvers}. */
export interface ApproversProps {
  /** Google Cloud project. */
  readonly project: string;
  /** The services whose `approvers` get the approver role. */
  readonly services: readonly ServiceDefinition[];
  /**
   * The IAM principals of every approver named in a service file. Every approver of the fleet must have an entry;
   * one left out is a synth-time error naming it and its services.
   * @default - none: only allowed with `exampleFleet`
   */
  readonly principals?: ApproverPrincipals;
  /**
   * The example fleet (`npm start`, tests): approvers without an entry in `principals` are bound as written. Never
   * for a real project: IAM rejects principals that do not exist, and the whole platform apply fails with them.
   * @default false
   */
  readonly exampleFleet?: boolean;
  /**
   * Further members who approve the platform's own production-side Terraform plans (already IAM principals).
   * @default []
   */
  readonly platformApprovers?: readonly string[];
}

const MEMBER = /^(user|group|serviceAccount|domain):\S+$/;

/**
 * Grants the Cloud Build approver role to the principals of every reviewer of the fleet, once per principal. Cloud
 * Build grants the role on the project (it has no per-trigger IAM and no IAM condition that names a trigger), so the
 * binding lives in the platform stack, deduplicated: two services sharing a reviewer never fight over one binding.
 * Which reviewer may approve which service is enforced by the deploy gate, which checks the approver against the
 * service's `approvers`.
 */
export class Approvers extends Construct {
  /** The members granted the role, sorted. */
  readonly members: readonly string[];

  constructor(scope: Construct, id: string, props: ApproversProps) {
    super(scope, id);
    const servicesOf = new Map<string, string[]>();
    for (const s of props.services) for (const a of s.approvers) servicesOf.set(a, [...(servicesOf.get(a) ?? []), s.name]);
    const problems: Violation[] = [];
    const all = new Set<string>(props.platformApprovers ?? []);
    for (const [approver, services] of [...servicesOf].sort(([a], [b]) => a.localeCompare(b))) {
      const mapped = props.principals?.[approver];
      if (mapped === undefined) {
        if (props.exampleFleet) all.add(approver);
        else
          problems.push({
            subject: 'Approvers',
            field: approver,
            value: `approver of ${services.join(', ')}`,
            message:
              'has no IAM principal; map it in C2C_APPROVERS, e.g. {"' +
              approver +
              '": ["user:someone@your-domain.com"]} (IAM rejects principals that do not exist)',
          });
        continue;
      }
      for (const [i, member] of mapped.entries()) {
        if (MEMBER.test(member)) all.add(member);
        else
          problems.push({
            subject: 'Approvers',
            field: `${approver}[${i}]`,
            value: member,
            message: "must be an IAM principal: 'user:…', 'group:…', 'serviceAccount:…' or 'domain:…'",
          });
      }
    }
    if (problems.length > 0) throw new ValidationError(problems);
    this.members = [...all].sort();
    for (const member of this.members) {
      new ProjectIamMember(this, memberId(member), { project: props.project, role: APPROVER_ROLE, member });
    }
  }
}
