import { Construct } from 'constructs';
import { CloudbuildWorkerPool } from '@cdktf/provider-google/lib/cloudbuild-worker-pool';
import { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address';
import { ServiceNetworkingConnection } from '@cdktf/provider-google/lib/service-networking-connection';
import { ServiceNetworkingPeeredDnsDomain } from '@cdktf/provider-google/lib/service-networking-peered-dns-domain';
import { ValidationError, Violation } from '../lib/errors';
import { PipelineStep, STEP_IMAGES } from './build-steps';

/** Props of {@link PrivateWorkerPool}. */
export interface PrivateWorkerPoolProps {
  /** Google Cloud project. */
  readonly project: string;
  /** Region of the pool; the same as the triggers' (a trigger can only use a pool of its own region). */
  readonly region: string;
  /**
   * The cluster's VPC network, `projects/PROJECT/global/networks/NAME`: the network Marathon, marathon-lb and the
   * services are reachable in. Created outside this app (it belongs to the cluster).
   * @see https://cloud.google.com/build/docs/private-pools/set-up-private-pool-environment
   */
  readonly network: string;
  /**
   * Pool name.
   * @default 'c2c-private'
   */
  readonly name?: string;
  /**
   * Machine type of the workers (every build in the pool runs on one; the trigger's `machineType` option does not apply).
   * @default 'e2-standard-2'
   * @see https://cloud.google.com/build/pricing
   */
  readonly machineType?: string;
  /**
   * Disk size of the workers in GB (100 to 4000).
   * @default 100
   */
  readonly diskSizeGb?: number;
  /**
   * Prefix length of the address range reserved for Google's service producer network (the workers' addresses).
   * @default 24
   */
  readonly peeringPrefixLength?: number;
  /**
   * DNS suffixes of private Cloud DNS zones of the network that the workers must resolve (e.g. `internal.` for
   * `marathon.staging.internal`): each becomes a peered DNS domain of the Service Networking connection.
   * @default []
   * @see https://cloud.google.com/vpc/docs/configure-private-services-access#dns-peering
   */
  readonly dnsSuffixes?: readonly string[];
  /**
   * Names of the address ranges the network's existing private services access connection already uses (Cloud SQL,
   * Memorystore): a network has one such connection, so these are kept in it beside the pool's range.
   * @default []
   * @see https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/service_networking_connection
   */
  readonly existingRanges?: readonly string[];
}

const NETWORK = /^projects\/[a-z0-9-]+\/global\/networks\/[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A Cloud Build private pool peered to the cluster's VPC network through Service Networking (private services access):
 * a reserved internal range, the peering connection, peered DNS domains for the private zones, and the pool. Builds that
 * talk to Marathon or to a service run here; the default pool cannot reach private addresses. Workers keep a public IP
 * so that steps can still pull public images.
 */
export class PrivateWorkerPool extends Construct {
  /** The pool. */
  readonly pool: CloudbuildWorkerPool;
  /** The pool's id, `projects/P/locations/R/workerPools/NAME`, the form `options.pool.name` of a build wants. */
  readonly id: string;
  /** The same id as a literal, for other stacks (which are ordered after this one as a whole). */
  readonly poolId: string;

  constructor(scope: Construct, id: string, props: PrivateWorkerPoolProps) {
    super(scope, id);
    const problems: Violation[] = [];
    const subject = `PrivateWorkerPool(${props.name ?? 'c2c-private'})`;
    if (!NETWORK.test(props.network)) {
      problems.push({
        subject,
        field: 'network',
        value: props.network,
        message: "must be 'projects/PROJECT/global/networks/NAME', the cluster's VPC network (set C2C_POOL_NETWORK)",
      });
    }
    const prefix = props.peeringPrefixLength ?? 24;
    if (!(Number.isInteger(prefix) && prefix >= 8 && prefix <= 29)) {
      problems.push({ subject, field: 'peeringPrefixLength', value: prefix, message: 'must be a whole number from 8 to 29, e.g. 24' });
    }
    for (const [i, suffix] of (props.dnsSuffixes ?? []).entries()) {
      if (!/^([a-z0-9-]+\.)+$/.test(suffix))
        problems.push({
          subject,
          field: `dnsSuffixes[${i}]`,
          value: suffix,
          message: "must be a DNS suffix ending in '.', e.g. 'internal.'",
        });
    }
    const networkProject = props.network.split('/')[1];
    if (NETWORK.test(props.network) && networkProject !== props.project) {
      problems.push({
        subject,
        field: 'network',
        value: props.network,
        message: `is in project ${networkProject}, not ${props.project}: a Shared VPC network is not supported (its peering and ranges belong to the host project); use a network of ${props.project}`,
      });
    }
    for (const [i, name] of (props.existingRanges ?? []).entries()) {
      if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name))
        problems.push({
          subject,
          field: `existingRanges[${i}]`,
          value: name,
          message: 'must be the name of a global address range, e.g. google-managed-services-default',
        });
    }
    if (problems.length > 0) throw new ValidationError(problems);

    const range = new ComputeGlobalAddress(this, 'peering-range', {
      project: props.project,
      name: `${props.name ?? 'c2c-private'}-peering`,
      purpose: 'VPC_PEERING',
      addressType: 'INTERNAL',
      prefixLength: prefix,
      network: props.network,
    });
    const connection = new ServiceNetworkingConnection(this, 'peering', {
      network: props.network,
      service: 'servicenetworking.googleapis.com',
      // A network has one private services access connection: keep the ranges it already has (Cloud SQL, Memorystore),
      // and update that connection when creating a new one fails because it exists.
      reservedPeeringRanges: [...(props.existingRanges ?? []), range.name],
      updateOnCreationFail: true,
      // Other producers may use the connection: destroying the pool must not remove it.
      deletionPolicy: 'ABANDON',
    });
    const dns = (props.dnsSuffixes ?? []).map(
      (suffix) =>
        new ServiceNetworkingPeeredDnsDomain(this, `dns-${suffix.replace(/[^a-z0-9]+/g, '-').replace(/-+$/, '')}`, {
          project: props.project,
          name: `c2c-${suffix.replace(/[^a-z0-9]+/g, '-').replace(/-+$/, '')}`,
          network: props.network.split('/').pop()!,
          dnsSuffix: suffix,
          service: 'servicenetworking.googleapis.com',
          dependsOn: [connection],
        }),
    );
    this.pool = new CloudbuildWorkerPool(this, 'pool', {
      project: props.project,
      location: props.region,
      name: props.name ?? 'c2c-private',
      workerConfig: { machineType: props.machineType ?? 'e2-standard-2', diskSizeGb: props.diskSizeGb ?? 100, noExternalIp: false },
      networkConfig: { peeredNetwork: props.network },
      dependsOn: [connection, ...dns],
    });
    this.id = this.pool.id;
    this.poolId = `projects/${props.project}/locations/${props.region}/workerPools/${props.name ?? 'c2c-private'}`;
  }
}

/** The id of the step that proves a build runs in the private pool ({@link poolCheckStep}). */
export const POOL_CHECK_STEP = 'in-private-pool';

/**
 * The first step of every build that must run in the private pool: it opens a TCP connection to each of `targets`
 * (the Marathon URLs: private addresses, reachable only from the pool's peered network) and fails the build, before
 * any other step starts, when one cannot be reached.
 *
 * Why a step: the Google provider's only pool field on a trigger is `build.options.worker_pool`, experimental and sent
 * as the Cloud Build API's deprecated `workerPool` (the API's field is `options.pool.name`, which the provider does not
 * offer); hashicorp/terraform-provider-google#18731 reports triggers created with it whose builds do not run in the
 * pool. A build config file with `options.pool.name` would move every trigger's steps into each service's repository
 * (which its owner edits); this step keeps them in the trigger and makes a lost pool stop the build at once, with
 * the reason, instead of letting its steps run in the default pool.
 */
export function poolCheckStep(pool: string, targets: readonly string[]): PipelineStep {
  const script = [
    "const net=require('net'),e=process.env;",
    "const reach=(t)=>new Promise((ok,no)=>{const u=new URL(t),port=Number(u.port||(u.protocol==='https:'?443:80));",
    'const s=net.connect({host:u.hostname,port,timeout:10000});',
    "s.on('connect',()=>{s.destroy();ok(u.host)});",
    "s.on('timeout',()=>{s.destroy();no(new Error(u.host+' did not answer within 10 s'))});",
    "s.on('error',(x)=>no(new Error(u.host+': '+x.message)))});",
    "Promise.all(e.C2C_POOL_CHECK_TARGETS.split(' ').map(reach)).then(",
    "(h)=>console.log('in-private-pool: reached '+h.join(', ')+' from '+e.C2C_POOL),",
    "(x)=>{console.error('in-private-pool: cannot reach '+x.message+'. Either this build does not run in the private pool '+e.C2C_POOL+",
    "' (the trigger lost build.options.worker_pool, or Cloud Build ignored it: hashicorp/terraform-provider-google#18731;'+",
    "' see docs/first-deploy.md step 11), or Marathon is down or the firewall rule'+",
    "' of docs/first-deploy.md step 9 is missing. No other step ran.');process.exit(1)});",
  ].join('');
  return {
    id: POOL_CHECK_STEP,
    image: STEP_IMAGES.deploy,
    entrypoint: 'node',
    args: ['-e', script],
    env: [`C2C_POOL=${pool}`, `C2C_POOL_CHECK_TARGETS=${targets.join(' ')}`],
    waitFor: ['-'],
  };
}

/**
 * `steps` behind `check`: the check first, and every step that would start at once (`waitFor: ['-']`, the default)
 * waits for it instead, so no step of the build starts before the check has passed.
 */
export function behindPoolCheck(steps: readonly PipelineStep[], check: PipelineStep): PipelineStep[] {
  return [check, ...steps.map((s) => ({ ...s, waitFor: (s.waitFor ?? ['-']).map((w) => (w === '-' ? check.id : w)) }))];
}
