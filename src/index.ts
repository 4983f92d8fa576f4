/** The package's public API. */
export * from './errors.js';
export type * from './parser/ast.js';
export type * from './oci/types.js';
export { BuildContext, copyPlan, extractContextTar, hashSources, matchSources, packContext, StatCache } from './context/index.js';
export { parseReference, normalizeRegistry } from './image/reference.js';
export { familiarName, registryHost, type Reference } from './oci/reference.js';
export { pull, push, RegistryClient, BlobSources, loadCredentials, storeCredentials, eraseCredentials, type PullOptions, type PullResult, type PushOptions, type PushResult, type TransferProgress, type ClientOptions } from './registry/index.js';
export { buildPlan, parseCommand, parseFrom, expandCommand, ShellLex, StageEnv, type Plan, type PlanOptions, type Stage, type StageBase, type Command, type FromHeader, type MountSpec } from './plan/index.js';
export { applyLayer, createSnapshotter, ensureLayerChain, chainId, diffSnapshot, RuncExecutor, cleanupStale, resolveUser, type Snapshotter, type Executor, type ExecSpec, type ExitStatus, type ResolvedUser } from './runtime/index.js';
export { parseDockerfile, dump, dumpInstruction, toJSON, suggestInstruction, unknownInstructionError, type ParseOptions } from './parser/index.js';
export { ImageStore, LocalContentStore, MemoryContentStore, CacheIndex, prune, check, type ContentStore, type BlobInfo, type ImageRef, type CacheRecord, type ResolvedImage, type PruneOptions, type PruneResult, type Problem } from './store/index.js';
export { ContainerManager, parseVolume, parseEnvFlags, type Container, type ContainerConfigRecord, type ContainerState, type CreateOptions, type ExitInfo, type StartIO, type VolumeSpec } from './containers/index.js';
export { type BuildResult, type BuildRunOptions, type BuildRequest } from './builder/session.js';
export { build } from './builder/build.js';
export { type OutputSpec } from './builder/output-spec.js';
export { defaultBuildOptions, type BuildOptions, type SecretSpec } from './builder/options.js';
export type { BuildEvent, EventSink, StepInfo } from './builder/events.js';
