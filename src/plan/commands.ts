/**
 * The typed commands (BuildKit's `instructions/commands.go`): what each instruction becomes
 * once parsed (./instructions.ts), before expansion (./expand.ts). Types only.
 */
import type {
  AddNode,
  ArgNode,
  CmdNode,
  CopyNode,
  EntrypointNode,
  EnvNode,
  ExposeNode,
  FromNode,
  HealthcheckNode,
  LabelNode,
  MaintainerNode,
  OnbuildNode,
  RunNode,
  ShellNode,
  StopsignalNode,
  UserNode,
  VolumeNode,
  WorkdirNode,
} from '../parser/ast.js';

/** A heredoc as a command sees it: the body with `<<-` tabs already removed. */
export interface HeredocFile {
  name: string;
  /** The body; expanded (if `expand`) only when the builder runs the command. */
  data: string;
  /** False when the delimiter was quoted. */
  expand: boolean;
  fileDescriptor: number;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/**
 * What a `COPY --from` or `RUN --mount from=` names, as the plan resolved it (BuildKit's
 * `cmd.sources`): an earlier stage by index, or an image reference.
 */
export type FromSource = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };
export type MountSharing = 'shared' | 'private' | 'locked';

/** One `RUN --mount=…`, as BuildKit's `Mount`. */
export interface MountSpec {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readOnly: boolean;
  /** `id=` (cache id, secret id, ssh id). */
  id?: string;
  sharing?: MountSharing;
  mode?: number;
  uid?: number;
  gid?: number;
  required: boolean;
  /** tmpfs size limit in bytes. */
  size?: number;
  /** Secret mounts: `env=NAME`, the secret as that environment variable of the step. */
  env?: string;
}

export interface RunCommand {
  kind: 'RUN';
  node: RunNode;
  /** Exec form: the argv. Shell form: one element, the command line (run with the SHELL). */
  args: string[];
  /** True for shell form (the builder prepends SHELL). */
  prependShell: boolean;
  heredocs: HeredocFile[];
  /** The raw `--mount` values, in order (expand.ts expands them). */
  mountFlags: string[];
  /**
   * The parsed mounts. Null when a mount value refers to variables: expandCommand fills it in.
   */
  mounts: MountSpec[] | null;
  /** The `from=` of each mount that has one (never variable: BuildKit forbids it). */
  mountFroms: string[];
  /** What each of `mountFroms` names, set by the plan (absent on ONBUILD triggers, resolved when they run). */
  mountSources?: Record<string, FromSource>;
  /** `--network`: `default`, `none` or `host`. */
  network?: 'default' | 'none' | 'host';
  /** `--security`: `sandbox` or `insecure`. */
  security?: 'sandbox' | 'insecure';
}

export interface CmdCommand {
  kind: 'CMD';
  node: CmdNode;
  args: string[];
  prependShell: boolean;
}

export interface EntrypointCommand {
  kind: 'ENTRYPOINT';
  node: EntrypointNode;
  args: string[];
  prependShell: boolean;
}

export interface ShellCommand {
  kind: 'SHELL';
  node: ShellNode;
  shell: string[];
}

export interface CopySource {
  /** Source paths (raw until expanded). */
  paths: string[];
  /** Inline files from heredocs (`COPY <<EOF /dest`). */
  contents: HeredocFile[];
  dest: string;
}

export interface CopyCommand extends CopySource {
  kind: 'COPY';
  node: CopyNode;
  from?: string;
  /** What `from` names, set by the plan (absent on ONBUILD triggers, resolved when they run). */
  source?: FromSource;
  chown?: string;
  chmod?: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
}

export interface AddCommand extends CopySource {
  kind: 'ADD';
  node: AddNode;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  keepGitDir: boolean;
  exclude: string[];
  /** `--unpack` (undefined: the default, unpack local archives only). */
  unpack?: boolean;
}

export interface VolumeCommand {
  kind: 'VOLUME';
  node: VolumeNode;
  volumes: string[];
}

export interface ExposeCommand {
  kind: 'EXPOSE';
  node: ExposeNode;
  /** Raw words; after expansion each is `port[/proto]` or `start-end[/proto]`. */
  ports: string[];
}

export interface ArgDecl {
  name: string;
  /** The raw default (quotes kept until expansion); undefined when none was given. */
  value?: string;
}

export interface ArgCommand {
  kind: 'ARG';
  node: ArgNode;
  args: ArgDecl[];
}

export interface MaintainerCommand {
  kind: 'MAINTAINER';
  node: MaintainerNode;
  maintainer: string;
}

export interface UserCommand {
  kind: 'USER';
  node: UserNode;
  user: string;
}

export interface WorkdirCommand {
  kind: 'WORKDIR';
  node: WorkdirNode;
  path: string;
}

export interface StopsignalCommand {
  kind: 'STOPSIGNAL';
  node: StopsignalNode;
  signal: string;
}

export interface KeyValuePair {
  key: string;
  value: string;
}

export interface EnvCommand {
  kind: 'ENV';
  node: EnvNode;
  env: KeyValuePair[];
}

export interface LabelCommand {
  kind: 'LABEL';
  node: LabelNode;
  labels: KeyValuePair[];
}

/** The image config `Healthcheck`, durations in nanoseconds (0 = inherit/default). */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", argv…]` or `["CMD-SHELL", line]`. */
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export interface HealthcheckCommand {
  kind: 'HEALTHCHECK';
  node: HealthcheckNode;
  health: HealthConfig;
}

export interface OnbuildCommand {
  kind: 'ONBUILD';
  node: OnbuildNode;
  /** The trigger as written (`RUN echo hi`), heredoc bodies appended as BuildKit does. */
  expression: string;
}

/** Every instruction except FROM (a stage header, see `FromHeader`). */
export type Command =
  | RunCommand
  | CmdCommand
  | EntrypointCommand
  | ShellCommand
  | CopyCommand
  | AddCommand
  | VolumeCommand
  | ExposeCommand
  | ArgCommand
  | MaintainerCommand
  | UserCommand
  | WorkdirCommand
  | StopsignalCommand
  | EnvCommand
  | LabelCommand
  | HealthcheckCommand
  | OnbuildCommand;

/** `FROM [--platform=p] image [AS name]`, unexpanded. `name` is lower-cased. */
export interface FromHeader {
  node: FromNode;
  image: string;
  name?: string;
  platform?: string;
}

// ---------------------------------------------------------------------------------------------
// Flags
