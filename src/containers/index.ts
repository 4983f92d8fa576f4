/** Containers: `mybuild run`/`ps`/`rm`/`logs`/`stop`/`kill` and the daemon's container API. */
export {
  ContainerManager,
  normalizeSignal,
  type Container,
  type ContainerConfigRecord,
  type ContainerState,
  type ContainerStatus,
  type CreateOptions,
  type ExitInfo,
  type StartIO,
  type VolumeSpec,
} from './manager.js';
export { LogWriter, readLogRecords, type LogRecord, type LogStream } from './log.js';
export { NAME_PATTERN, newContainerId, randomName, shortContainerId, validateName } from './names.js';
export { parseVolume, parseEnvFlags } from './options.js';
