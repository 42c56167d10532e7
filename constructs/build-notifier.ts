import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import { DataGoogleSecretManagerSecretVersion } from '@cdktf/provider-google/lib/data-google-secret-manager-secret-version';
import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';

/** The Secret Manager secret holding the chat webhook URL (created by hand with its value, see docs/first-deploy.md). */
export const WEBHOOK_SECRET_ID = 'c2c-notify-webhook';

/** Which of Google's Cloud Build notifiers posts the messages. */
export type NotifierKind = 'slack' | 'googlechat';

/** Google's published notifier images (Cloud Build notifiers, `gcb-release`). */
export const NOTIFIER_IMAGES: Readonly<Record<NotifierKind, string>> = {
  slack: 'us-east1-docker.pkg.dev/gcb-release/cloud-build-notifiers/slack:latest',
  googlechat: 'us-east1-docker.pkg.dev/gcb-release/cloud-build-notifiers/googlechat:latest',
};

/**
 * The builds the notifier reports: production builds of the platform (`c2c` and `production` tags) when they are
 * approved and applied (SUCCESS), fail (FAILURE, TIMEOUT, INTERNAL_ERROR: the deploy CLI rolled back or could not),
 * are rejected (CANCELLED) or expire unapproved (EXPIRED). The "waits for approval" message, with the plan's diff,
 * comes from the push build's `deploy plan --notify`, which has the diff; a build resource does not.
 */
export const NOTIFIER_FILTER =
  '"c2c" in build.tags && "production" in build.tags && build.status in [Build.Status.SUCCESS, Build.Status.FAILURE, ' +
  'Build.Status.TIMEOUT, Build.Status.INTERNAL_ERROR, Build.Status.CANCELLED, Build.Status.EXPIRED]';

/** Props of {@link BuildNotifier}. */
export interface BuildNotifierProps {
  readonly project: string;
  /** Region of the Cloud Run service. */
  readonly region: string;
  /** Bucket (a reference) the notifier's configuration and message template are stored in. */
  readonly configBucket: string;
  /**
   * Members (references) that may read the webhook URL besides the notifier: the push builds, which post the
   * "waits for approval" notice with the diff (`deploy plan --notify`).
   * @default []
   */
  readonly webhookReaders?: readonly { readonly id: string; readonly member: string }[];
  /**
   * Slack (with the message template below) or Google Chat.
   * @default 'slack'
   * @see https://cloud.google.com/build/docs/configuring-notifications/configure-slack
   */
  readonly kind?: NotifierKind;
  /**
   * The notifier image.
   * @default - Google's image for `kind`
   */
  readonly image?: string;
  /**
   * CEL filter over the build.
   * @default {@link NOTIFIER_FILTER}
   */
  readonly filter?: string;
}

/**
 * Cloud Build's own notification path for production builds: Cloud Build publishes every build change to the
 * `cloud-builds` Pub/Sub topic; a push subscription (OIDC token of an invoker account) delivers them to Google's
 * notifier image on Cloud Run, which filters them with a CEL expression and posts to a chat webhook whose URL is in
 * Secret Manager (`c2c-notify-webhook`, value added once by hand). The notifier's configuration and message template
 * are objects in the deploy bucket.
 */
export class BuildNotifier extends Construct {
  /** The `cloud-builds` topic. */
  readonly topic: PubsubTopic;
  /** The webhook URL's secret. */
  readonly webhookSecret: SecretManagerSecret;
  /** The notifier service. */
  readonly service: CloudRunV2Service;
  /** The push subscription. */
  readonly subscription: PubsubSubscription;
  /** The webhook secret's latest version name, for a build's `availableSecrets` (a reference). */
  readonly webhookVersion: string;
  /** The same version name as a literal, for other stacks (ordered after this one as a whole). */
  readonly webhookVersionName: string;
  /**
   * The webhook secret's latest version, read by Terraform: the plan fails while the secret has no value, and
   * everything that reads the value at start-up (the notifier, the reminder) waits for it.
   */
  readonly webhookValue: DataGoogleSecretManagerSecretVersion;

  constructor(scope: Construct, id: string, props: BuildNotifierProps) {
    super(scope, id);
    const kind = props.kind ?? 'slack';
    // Cloud Build publishes to a topic of exactly this name when it exists in the project.
    this.topic = new PubsubTopic(this, 'cloud-builds', { project: props.project, name: 'cloud-builds' });
    this.webhookSecret = new SecretManagerSecret(this, 'webhook', {
      project: props.project,
      secretId: WEBHOOK_SECRET_ID,
      replication: { auto: {} },
      labels: { 'managed-by': 'commit-to-cloud', purpose: 'notifier-webhook' },
    });
    // The value is added by a person (never in Terraform state). Reading the latest version makes Terraform stop
    // before the notifier and the reminder are created while the secret has none (docs/first-deploy.md).
    this.webhookVersion = `${this.webhookSecret.id}/versions/latest`;
    this.webhookVersionName = `projects/${props.project}/secrets/${WEBHOOK_SECRET_ID}/versions/latest`;
    this.webhookValue = new DataGoogleSecretManagerSecretVersion(this, 'webhook-latest', {
      project: props.project,
      secret: this.webhookSecret.secretId,
    });
    const runner = new ServiceAccount(this, 'runner', {
      project: props.project,
      accountId: 'c2c-notifier',
      displayName: 'commit-to-cloud notifier',
      description: 'Runs the Cloud Build notifier: reads its configuration and the webhook URL',
    });
    const invoker = new ServiceAccount(this, 'invoker', {
      project: props.project,
      accountId: 'c2c-notifier-push',
      displayName: 'commit-to-cloud notifier push',
      description: 'Signs the Pub/Sub push requests to the notifier',
    });
    const grants: ITerraformDependable[] = [];
    for (const reader of [{ id: 'runner', member: runner.member }, ...(props.webhookReaders ?? [])]) {
      const grant = new SecretManagerSecretIamMember(this, `webhook-reader-${reader.id}`, {
        project: props.project,
        secretId: this.webhookSecret.secretId,
        role: 'roles/secretmanager.secretAccessor',
        member: reader.member,
      });
      if (reader.id === 'runner') grants.push(grant);
    }
    const configReader = new StorageBucketIamMember(this, 'config-reader', {
      bucket: props.configBucket,
      role: 'roles/storage.objectViewer',
      member: runner.member,
    });

    const config = this.configObjects(props, kind);
    this.service = new CloudRunV2Service(this, 'service', {
      project: props.project,
      location: props.region,
      name: 'c2c-notifier',
      ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
      deletionProtection: false,
      // The notifier reads its configuration and the webhook URL before it listens and exits when it cannot: it
      // starts only once its runner may read both and the URL has a value.
      dependsOn: [...grants, configReader, this.webhookValue],
      template: {
        serviceAccount: runner.email,
        scaling: { minInstanceCount: 0, maxInstanceCount: 2 },
        containers: [
          {
            image: props.image ?? NOTIFIER_IMAGES[kind],
            env: [
              { name: 'CONFIG_PATH', value: `gs://${props.configBucket}/${config.name}` },
              { name: 'PROJECT_ID', value: props.project },
            ],
          },
        ],
      },
    });
    this.subscription = this.subscribe(props, invoker);
  }

  /** The configuration and the Slack message template, objects of the config bucket; returns the configuration. */
  private configObjects(props: BuildNotifierProps, kind: NotifierKind): StorageBucketObject {
    const templateObject = new StorageBucketObject(this, 'template', {
      bucket: props.configBucket,
      name: `notifier/${kind}-template.json`,
      content: SLACK_TEMPLATE,
      contentType: 'application/json',
    });
    return new StorageBucketObject(this, 'config', {
      bucket: props.configBucket,
      name: `notifier/${kind}.yaml`,
      contentType: 'text/yaml',
      content: notifierConfig({
        kind,
        filter: props.filter ?? NOTIFIER_FILTER,
        webhookVersion: this.webhookVersion,
        templateUri: kind === 'slack' ? `gs://${props.configBucket}/${templateObject.name}` : undefined,
      }),
    });
  }

  /** The push subscription on `cloud-builds`, signed with the invoker's OIDC token, the only one that may invoke. */
  private subscribe(props: BuildNotifierProps, invoker: ServiceAccount): PubsubSubscription {
    new CloudRunV2ServiceIamMember(this, 'invoker-binding', {
      project: props.project,
      location: props.region,
      name: this.service.name,
      role: 'roles/run.invoker',
      member: invoker.member,
    });
    // Pub/Sub's service agent mints the OIDC tokens of the push requests.
    const project = new DataGoogleProject(this, 'project', { projectId: props.project });
    new ServiceAccountIamMember(this, 'pubsub-token-creator', {
      serviceAccountId: invoker.name,
      role: 'roles/iam.serviceAccountTokenCreator',
      member: `serviceAccount:service-${project.number}@gcp-sa-pubsub.iam.gserviceaccount.com`,
    });
    return new PubsubSubscription(this, 'subscription', {
      project: props.project,
      name: 'c2c-notifier',
      topic: this.topic.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '86400s',
      // A subscription without traffic for 31 days is deleted by default; production builds can be rarer than that.
      expirationPolicy: { ttl: '' },
      pushConfig: { pushEndpoint: this.service.uri, oidcToken: { serviceAccountEmail: invoker.email } },
    });
  }
}

/** The notifier's configuration (cloud-build-notifiers/v1), YAML. */
export function notifierConfig(c: { kind: NotifierKind; filter: string; webhookVersion: string; templateUri?: string }): string {
  const kindName = c.kind === 'slack' ? 'SlackNotifier' : 'GoogleChatNotifier';
  return [
    'apiVersion: cloud-build-notifiers/v1',
    `kind: ${kindName}`,
    'metadata:',
    `  name: c2c-${c.kind}`,
    'spec:',
    '  notification:',
    `    filter: ${JSON.stringify(c.filter)}`,
    ...(c.kind === 'slack' ? ['    params:', '      buildStatus: $(build.status)'] : []),
    '    delivery:',
    '      webhookUrl:',
    '        secretRef: webhook-url',
    ...(c.templateUri ? ['    template:', '      type: golang', `      uri: ${c.templateUri}`] : []),
    '  secrets:',
    '    - name: webhook-url',
    `      value: ${c.webhookVersion}`,
    '',
  ].join('\n');
}

/**
 * The Slack message of a production build's outcome: service (the build's tags), status, the plan it applied, the
 * commit, and the build's page. Go template over the build; `{{` `}}` are not Terraform syntax.
 */
export const SLACK_TEMPLATE = `${JSON.stringify(
  [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          '*{{range .Build.Tags}}{{if and (ne . "c2c") (ne . "production")}}{{.}}{{end}}{{end}}*: production build ' +
          '{{.Params.buildStatus}}\nplan `{{index .Build.Substitutions "_PLAN_OBJECT"}}`, commit ' +
          '{{index .Build.Substitutions "COMMIT_SHA"}}\n<{{.Build.LogUrl}}|open the build>',
      },
    },
  ],
  null,
  2,
)}\n`;
