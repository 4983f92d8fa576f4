/**
 * What `mybuild info` (and the daemon's `GET /info`) says about how steps run here: rootless or
 * not, which snapshotter the store uses, and what the default network is (slirp4netns and its
 * version, or that it is missing).
 */
import { execCapture } from './exec.js';
import { snapshotterType } from './snapshotter.js';

export interface RuntimeFacts {
  /** Running without root (uid ≠ 0). */
  rootless: boolean;
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
    rootless: process.getuid?.() !== 0,
    snapshotter: await snapshotterType(snapshotsRoot).catch(() => 'unknown'),
    network: version ? `slirp4netns ${version}` : 'unavailable: slirp4netns is not installed (apt-get install slirp4netns; --network=none and host still work)',
  };
}
