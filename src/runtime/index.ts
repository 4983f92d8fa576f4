/** The runtime: safe layer extraction, snapshots, snapshot diffs, OCI runtime execution, user lookup. */
export { applyLayer, type ApplyLayerOptions, type ApplyLayerResult } from './extract.js';
export {
  chainId,
  createSnapshotter,
  ensureLayerChain,
  NativeSnapshotter,
  OverlaySnapshotter,
  probeOverlay,
  type LayerDirs,
  type LayerSource,
  type PrepareOptions,
  type SnapshotInfo,
  type SnapshotKind,
  type Snapshotter,
} from './snapshotter.js';
export { mountAll, mountOne, mountPointsUnder, unmountAll, type Mount } from './mount.js';
export { diffNative, diffOverlay, diffSnapshot } from './diff.js';
export { cleanupStale, hardNofileLimit, resolveRuntime, RuncExecutor, type Executor, type ExitStatus, type RuncExecutorOptions } from './executor.js';
export { DEFAULT_CAPABILITIES, DEFAULT_PATH, generateSpec, hostsFile, MASKED_PATHS, READONLY_PATHS, type EtcFiles, type ExecSpec, type NetworkMode, type RuntimeSpec } from './spec.js';
export { sandboxResolvConf, SLIRP_DNS_ADDR, SLIRP_GUEST_ADDR, startUserNetwork, type PublishedPort, type UserNetwork } from './usernet.js';
export { runtimeFacts, type RuntimeFacts } from './facts.js';
export { parseGroup, parsePasswd, resolveUser, resolveUserFrom, type ResolvedUser } from './user.js';
export { cleanInRoot, secureJoin, secureJoinParent } from './secure-join.js';
export { readXattrs, readXattrsTree, setXattr } from './xattr.js';
