/**
 * What `mybuild info` (and the daemon's `GET /info`) says about how steps run here: rootless or
 * not, which snapshotter the store uses, and what the default network is (slirp4netns and its
 * version, or that it is missing).
 */
import { execCapture } from './exec.js';
import { snapshotterType } from './snapshotter.js';
import { inUserNamespace, mappedIdCount } from './userns.js';

export interface RuntimeFacts {
  /** Running without root (uid ≠ 0, or uid 0 of a user namespace: rootless mode). */
  rootless: boolean;
  /** How many uids the user namespace maps (65536 with a subordinate range, 1 without); absent outside one. */
  mappedIds?: number;
  /** `overlay` or `native` (copying). */
  snapshotter: string;
  /** The default network: `slirp4netns <version>`, or `unavailable: …` when it is not installed. */
  network: string;
}

/** Facts for the store whose snapshots live under `snapshotsRoot` (`<store>/snapshots`). */
export async function runtimeFacts(snapshotsRoot: string): Promise<RuntimeFacts> {
  const slirp = await execCapture('slirp4netns', ['--version']).catch(() => undefined);
  const version = slirp?.code === 0 ? /slirp4netns version (\S+)/.exec(slirp.stdout.toString())?.[1] : undefined;
  return {
    rootless: process.getuid?.() !== 0 || inUserNamespace(),
    snapshotter: await snapshotterType(snapshotsRoot).catch(() => 'unknown'),
    ...(inUserNamespace() ? { mappedIds: mappedIdCount() } : {}),
    network: version ? `slirp4netns ${version}` : 'unavailable: slirp4netns is not installed (apt-get install slirp4netns; --network=none and host still work)',
  };
}
