/** Finding and removing the containers and image tags a run left, by label and by name. */
import { execCommand } from './exec';

/** Ids of the containers (running or not) carrying `label` (`key` or `key=value`). */
export async function containersWithLabel(label: string): Promise<string[]> {
  const r = await execCommand('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${label}`], { timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.split('\n').filter((l) => l.trim() !== '') : [];
}

/** Removes (force) every container carrying `label`; returns how many there were. */
export async function removeContainersWithLabel(label: string): Promise<number> {
  const ids = await containersWithLabel(label);
  if (ids.length > 0) await execCommand('docker', ['rm', '-f', ...ids], { timeoutMs: 60_000 });
  return ids.length;
}

/** Removes image tags (`docker rmi`: an image that keeps another tag stays); missing ones are ignored. */
export async function removeImageTags(tags: readonly string[]): Promise<void> {
  if (tags.length > 0) await execCommand('docker', ['rmi', ...tags], { timeoutMs: 60_000 });
}

/**
 * Removes the images carrying `label` (`key` or `key=value`) that no tag names any more (`docker image prune`
 * with `dangling=true`): what later builds superseded. Images a container still uses stay.
 */
export async function removeDanglingImages(label: string): Promise<void> {
  await execCommand('docker', ['image', 'prune', '--force', '--filter', 'dangling=true', '--filter', `label=${label}`], {
    timeoutMs: 60_000,
  });
}
