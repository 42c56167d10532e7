import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, Token } from 'cdktf';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { StorageNotification } from '@cdktf/provider-google/lib/storage-notification';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account';
import { C2CError } from '../lib/errors';
import { platformSignersObject } from '../lib/gate/platform-signers';
import { deployBundleObject } from './naming';
import { IamMember, uniqueMembers } from './iam-id';

/** The single-file deploy CLI that builds download, pinned by its SHA-256. */
export interface DeployBundle {
  /** Path of `deploy-bundle.cjs` on this machine. */
  readonly path: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  /** Object name in the deploy bucket (contains the hash). */
  readonly objectName: string;
}

/**
 * Reads the deploy bundle and hashes it. Builds nothing and prints nothing: `npm run synth` and `cdktf synth` build
 * it first (`scripts/build.mjs`).
 * @throws C2CError DEPLOY_BUNDLE_MISSING when it does not exist.
 */
export function loadDeployBundle(root: string, path: string = join(root, 'dist', 'deploy-bundle.cjs')): DeployBundle {
  if (!existsSync(path)) {
    throw new C2CError('DEPLOY_BUNDLE_MISSING', `the deploy bundle ${path} does not exist`, {
      hint: "run 'npm run build' (it writes dist/deploy-bundle.cjs), then synthesize again",
    });
  }
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  return { path, sha256, objectName: deployBundleObject(sha256) };
}

/**
 * The platform's allowed-signers list (who may sign plans, approvals, commits), published in the deploy bucket for the
 * cloud path: the service repositories' own `security/allowed_signers` can be edited by each service's authors.
 */
export interface PlatformSignersFile {
  /** The file's text (OpenSSH allowed-signers format). */
  readonly content: string;
  /** Lower-case hex SHA-256 of the text. */
  readonly sha256: string;
  /** Object name in the deploy bucket (contains the hash). */
  readonly objectName: string;
}

/** The platform repository's `security/allowed_signers` (or `path`); a header-only list when there is none. */
export function loadPlatformSigners(root: string, path: string = join(root, 'security', 'allowed_signers')): PlatformSignersFile {
  const content = existsSync(path)
    ? readFileSync(path, 'utf8')
    : '# no security/allowed_signers in the platform repository: nobody is listed\n';
  return platformSignersFile(content);
}

/** The published form of an allowed-signers text. */
export function platformSignersFile(content: string): PlatformSignersFile {
  const sha256 = createHash('sha256').update(content).digest('hex');
  return { content, sha256, objectName: platformSignersObject(sha256) };
}

/** Props of {@link DeployBucket}. */
export interface DeployBucketProps {
  /** Bucket name (global). */
  readonly name: string;
  /** Bucket location, e.g. `europe-west1`. */
  readonly location: string;
  /** The deploy bundle to publish. */
  readonly bundle: DeployBundle;
  /** The platform's allowed-signers list to publish (only the platform apply writes it). */
  readonly allowedSigners: PlatformSignersFile;
  /** Pub/Sub topic name the bucket notifies on every new object (the production triggers filter on plan objects). */
  readonly topicName: string;
  /**
   * Members that read the bundle, the templates and the plans (build, production and platform service accounts).
   * @default []
   */
  readonly readers?: readonly IamMember[];
  /**
   * Members that write new objects (plans) but may not overwrite or delete any: `roles/storage.objectCreator`.
   * @default []
   */
  readonly creators?: readonly IamMember[];
  /**
   * Days after which plans (`plans/`, `platform-plans/`, `staged/`) and smoke requests (`smoke/`) are deleted.
   * @default 90
   */
  readonly planRetentionDays?: number;
  /**
   * Days a replaced object (an older deploy bundle, an overwritten template) stays readable by its generation before
   * it is deleted. Builds fetch the bundle by name and generation, so a production build that waits for approval
   * while the platform publishes a new bundle still runs the one it was planned with; keep this longer than the
   * longest approval wait.
   * @default 30
   */
  readonly noncurrentRetentionDays?: number;
}

/**
 * The deploy bucket: the deploy CLI bundle (object name pinned by its SHA-256, so a build runs the script the platform
 * was synthesized with), every service's Marathon templates, and the production plans. A notification on the bucket
 * publishes each new object to a Pub/Sub topic; a production trigger listens there for its plans.
 *
 * Bundle lifecycle: each bundle has its own name (`deploy/deploy-bundle-<sha256>.cjs`); a new one replaces the old
 * object in Terraform, which in this versioned bucket only makes the old generation noncurrent. Triggers name the
 * bundle by name and generation (references to this stack's outputs), so a trigger only ever names a bundle that
 * exists, and an old generation stays readable for `noncurrentRetentionDays`.
 */
export class DeployBucket extends Construct {
  /** The bucket. */
  readonly bucket: StorageBucket;
  /** The bundle object. */
  readonly bundleObject: StorageBucketObject;
  /** The topic new objects are announced on. */
  readonly topic: PubsubTopic;
  /** The bundle object's generation, as a string reference (builds fetch exactly this generation). */
  readonly bundleGeneration: string;
  /** The platform's allowed-signers object. */
  readonly signersObject: StorageBucketObject;
  /** Its generation, as a string reference (the plan and production steps read exactly this generation). */
  readonly signersGeneration: string;

  constructor(scope: Construct, id: string, props: DeployBucketProps) {
    super(scope, id);
    this.bucket = new StorageBucket(this, 'bucket', {
      name: props.name,
      location: props.location,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: true },
      lifecycleRule: [
        {
          action: { type: 'Delete' },
          condition: { age: props.planRetentionDays ?? 90, matchesPrefix: ['plans/', 'platform-plans/', 'staged/', 'smoke/'] },
        },
        { action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: props.noncurrentRetentionDays ?? 30, withState: 'ARCHIVED' } },
      ],
      labels: { 'managed-by': 'commit-to-cloud', purpose: 'deploy' },
    });
    const asset = new TerraformAsset(this, 'bundle-asset', { path: props.bundle.path, type: AssetType.FILE });
    this.bundleObject = new StorageBucketObject(this, 'bundle', {
      bucket: this.bucket.name,
      name: props.bundle.objectName,
      source: asset.path,
      contentType: 'application/javascript',
      metadata: { sha256: props.bundle.sha256 },
    });
    this.bundleGeneration = Token.asString(this.bundleObject.generation);
    // Named by its hash and read at this generation: the builds' accounts may create objects here (plans) but never
    // overwrite one, and a generation they created would not be the one the triggers name.
    this.signersObject = new StorageBucketObject(this, 'allowed-signers', {
      bucket: this.bucket.name,
      name: props.allowedSigners.objectName,
      content: props.allowedSigners.content,
      contentType: 'text/plain; charset=utf-8',
      metadata: { sha256: props.allowedSigners.sha256 },
    });
    this.signersGeneration = Token.asString(this.signersObject.generation);
    for (const { id: mid, member: m } of uniqueMembers(props.readers)) {
      new StorageBucketIamMember(this, `reader-${mid}`, {
        bucket: this.bucket.name,
        role: 'roles/storage.objectViewer',
        member: m,
      });
    }
    for (const { id: mid, member: m } of uniqueMembers(props.creators)) {
      new StorageBucketIamMember(this, `creator-${mid}`, {
        bucket: this.bucket.name,
        role: 'roles/storage.objectCreator',
        member: m,
      });
    }

    this.topic = new PubsubTopic(this, 'plans-topic', { name: props.topicName, messageRetentionDuration: '86400s' });
    const gcsAgent = new DataGoogleStorageProjectServiceAccount(this, 'gcs-agent', {});
    const publish = new PubsubTopicIamMember(this, 'gcs-agent-publisher', {
      topic: this.topic.id,
      role: 'roles/pubsub.publisher',
      member: `serviceAccount:${gcsAgent.emailAddress}`,
    });
    new StorageNotification(this, 'notification', {
      bucket: this.bucket.name,
      topic: this.topic.id,
      payloadFormat: 'JSON_API_V1',
      eventTypes: ['OBJECT_FINALIZE'],
      dependsOn: [publish],
    });
  }
}
