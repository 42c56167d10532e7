/**
 * The registry side-car here: the push build's `registry-sidecar` step runs, in the docker builder, `docker run -d
 * --name c2c-registry --network cloudbuild -p 5000:5000 -e REGISTRY_STORAGE=gcs -e REGISTRY_STORAGE_GCS_...=...
 * mirror.gcr.io/library/registry:2.8.3@sha256:...`. Neither the image (pulled by digest from Google's mirror) nor its
 * storage (the registry bucket) can be had here, so the executor runs that same `docker run` with three changes, each
 * said in the step's line: the registry stand-in in the image's place, the `REGISTRY_STORAGE*` variables dropped (the
 * stand-in keeps the registry:2 image's filesystem storage), and published ports bound to 127.0.0.1 only. The
 * container's name, network and ports are the synthesized ones, so `docker-build`, `push` and the plan's digest
 * lookup (`C2C_REGISTRY_URL=http://c2c-registry:5000`) run unchanged. The container carries the build's label and is
 * removed with the build.
 */
import { ImageRow } from './images';
import { BUILD_NETWORK } from './network';

/** What the executor runs instead of the synthesized arguments, and what it says about it. */
export interface SidecarRewrite {
  readonly args: string[];
  readonly note: string;
  /** The stand-in image the container runs. */
  readonly standIn: string;
}

/**
 * Rewrites `docker run -d ... IMAGE [ARGS]` when IMAGE (the argument `isImage` finds) has a side-car stand-in;
 * undefined for anything else (the step is then judged by its images as usual).
 */
export function rewriteSidecar(
  args: readonly string[],
  row: ImageRow,
  imageIndex: number,
  label: string,
  network: string = BUILD_NETWORK,
): SidecarRewrite | undefined {
  if (args[0] !== 'run' || !args.includes('-d') || !row.sidecar || !row.standIn) return undefined;
  const out: string[] = ['run', '--label', label];
  const dropped: string[] = [];
  let moved = false;
  for (let i = 1; i < imageIndex; i++) {
    const a = args[i];
    if ((a === '--network' || a === '--net') && args[i + 1] === BUILD_NETWORK && network !== BUILD_NETWORK) {
      // The run's own network stands for `cloudbuild` (the steps run there, and reach the side-car by its name).
      out.push(a, network);
      moved = true;
      i++;
    } else if ((a === '-e' || a === '--env') && /^REGISTRY_STORAGE/.test(args[i + 1] ?? '')) {
      dropped.push(args[++i].split('=')[0]);
    } else if ((a === '-p' || a === '--publish') && args[i + 1] !== undefined) {
      const p = args[++i];
      out.push(a, p.split(':').length === 2 ? `127.0.0.1:${p}` : p);
    } else out.push(a);
  }
  out.push(row.standIn, ...args.slice(imageIndex + 1));
  return {
    args: out,
    standIn: row.standIn,
    note: `stood in: ${args[imageIndex].replace(/@sha256:[0-9a-f]{64}$/, '')} ran as ${row.standIn}, ${dropped.length > 0 ? `without ${dropped.join(', ')} (${row.sidecar})` : 'unchanged storage'}, ports on 127.0.0.1${moved ? `, on the run's network ${network}` : ''}`,
  };
}
