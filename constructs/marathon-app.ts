import { Construct } from 'constructs';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { EnvironmentName, ServiceDefinition } from '../lib/catalog/types';
import { ValidationError } from '../lib/errors';
import { MarathonAppDefinition } from '../lib/marathon/app';
import { ArtifactRef, renderMarathonApp } from '../lib/marathon/render';
import { validateMarathonApp } from '../lib/marathon/validate';
import { templateObject } from './naming';
import { escapeTerraform } from './terraform-escape';

/** Props of {@link MarathonApp}. */
export interface MarathonAppProps {
  /** The service, as its owner wrote it in `services/<name>.ts`. */
  readonly service: ServiceDefinition;
  /** The environment this app runs in; it becomes the first segment of the app id (`/<env>/<name>`). */
  readonly environment: EnvironmentName;
  /**
   * The image of the template. A deploy renders the same definition with the commit's image.
   * @see https://mesosphere.github.io/marathon/docs/native-docker.html
   */
  readonly image: string;
  /**
   * The artifact of the template, for an artifact service (which has no image). A deploy renders the same definition
   * with the commit's artifact URI and SHA-256.
   * @default - none (image services)
   */
  readonly artifact?: ArtifactRef;
  /**
   * Extra labels for the template (stamp labels are added by the deploy script, not here).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Deploy bucket to publish the template to, as `templates/<service>/<env>.json`.
   * @default - not published to a bucket (the file under cdktf.out is still written)
   */
  readonly templateBucket?: string;
}

/**
 * One Marathon app of one service in one environment, rendered by THE renderer (`renderMarathonApp`) and checked
 * against Marathon's own rules when constructed: an invalid definition never synthesizes.
 *
 * Synthesis writes the JSON to `cdktf.out/stacks/<stack>/marathon/<service>.<env>.json` (see `C2CStack`) and, when
 * `templateBucket` is given, to the deploy bucket, where build steps can read it.
 */
export class MarathonApp extends Construct {
  /** The rendered Marathon app definition. */
  readonly definition: MarathonAppDefinition;
  /** The environment of the app. */
  readonly environment: EnvironmentName;
  /** The service name. */
  readonly serviceName: string;
  /** The template object in the deploy bucket, when published. */
  readonly templateObject?: StorageBucketObject;

  /** @throws ValidationError naming every rule the rendered app breaks. */
  constructor(scope: Construct, id: string, props: MarathonAppProps) {
    super(scope, id);
    this.environment = props.environment;
    this.serviceName = props.service.name;
    this.definition = renderMarathonApp(props.service, props.environment, {
      image: props.image,
      artifact: props.artifact,
      labels: props.labels,
    });
    const violations = validateMarathonApp(this.definition);
    if (violations.length > 0) throw new ValidationError(violations);
    if (props.templateBucket !== undefined) {
      this.templateObject = new StorageBucketObject(this, 'template', {
        bucket: props.templateBucket,
        name: templateObject(props.service.name, props.environment),
        // A command or an env value may hold `${` or `%{`, which Terraform would read as a template.
        content: escapeTerraform(this.json),
        contentType: 'application/json',
      });
    }
  }

  /** The definition as the JSON text that is published and sent (two-space indented, trailing newline). */
  get json(): string {
    return `${JSON.stringify(this.definition, null, 2)}\n`;
  }

  /** File name under the stack's `marathon/` folder. */
  get fileName(): string {
    return `${this.serviceName}.${this.environment}.json`;
  }

  /** True when `x` is a MarathonApp (works across module copies). */
  static isMarathonApp(x: unknown): x is MarathonApp {
    return x instanceof MarathonApp;
  }
}
