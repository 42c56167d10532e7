import { Construct } from 'constructs';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { ValidationError } from '../lib/errors';
import { IamMember, uniqueMembers } from './iam-id';

/** Props of {@link AuditBucket}. */
export interface AuditBucketProps {
  /** Bucket name (global). */
  readonly name: string;
  /** Bucket location, e.g. `europe-west1`. */
  readonly location: string;
  /**
   * How long every event object is kept before it may be deleted or overwritten, in days.
   * @default 400 (a year of DORA figures plus a margin)
   */
  readonly retentionDays?: number;
  /**
   * Lock the retention policy. Irreversible: a locked policy can never be shortened or removed, nor the bucket deleted
   * before its objects expire.
   * @default false
   */
  readonly lockRetention?: boolean;
  /**
   * Members that append events: `roles/storage.objectCreator` only (create; no read, overwrite or delete).
   * @default []
   */
  readonly writers?: readonly IamMember[];
  /**
   * Members that read the history (`deploy history`, `deploy report`): `roles/storage.objectViewer`.
   * @default []
   */
  readonly readers?: readonly IamMember[];
}

/**
 * The append-only audit log in the cloud: one object per event (plan, approval, apply, rollback), in a bucket whose
 * retention policy forbids deleting or overwriting an event before it expires. Writers can only create objects.
 */
export class AuditBucket extends Construct {
  /** The bucket. */
  readonly bucket: StorageBucket;

  constructor(scope: Construct, id: string, props: AuditBucketProps) {
    super(scope, id);
    const days = props.retentionDays ?? 400;
    if (!(Number.isInteger(days) && days > 0)) {
      throw new ValidationError([
        {
          subject: `AuditBucket(${props.name})`,
          field: 'retentionDays',
          value: days,
          message: 'must be a whole number of days > 0, e.g. 400',
        },
      ]);
    }
    this.bucket = new StorageBucket(this, 'bucket', {
      name: props.name,
      location: props.location,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      retentionPolicy: { retentionPeriod: days * 86400, isLocked: props.lockRetention ?? false },
      labels: { 'managed-by': 'commit-to-cloud', purpose: 'audit-log' },
    });
    for (const { id: mid, member: m } of uniqueMembers(props.writers)) {
      new StorageBucketIamMember(this, `writer-${mid}`, {
        bucket: this.bucket.name,
        role: 'roles/storage.objectCreator',
        member: m,
      });
    }
    for (const { id: mid, member: m } of uniqueMembers(props.readers)) {
      new StorageBucketIamMember(this, `reader-${mid}`, {
        bucket: this.bucket.name,
        role: 'roles/storage.objectViewer',
        member: m,
      });
    }
  }
}
