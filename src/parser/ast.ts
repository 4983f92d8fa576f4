/**
 * The Dockerfile AST: what `parseDockerfile` returns. Pure data, no behaviour.
 *
 * Every node carries a `range`. Positions are 1-based line and column (columns count UTF-16
 * code units, as JavaScript strings do) and a 0-based `offset` into the text as given (a BOM,
 * if any, counts). `end` is exclusive: it points just past the last character.
 *
 * Arguments are raw, as BuildKit's parser keeps them: quotes and escapes stay, variables are not
 * expanded. Expansion happens later, in `src/plan`.
 */

import type { Range } from '../oci/range.js';

/** A parser directive from the leading comment block (`# escape=\``). */
export interface Directive {
  /** Lower-cased name: `syntax`, `escape` or `check`. */
  name: string;
  value: string;
  range: Range;
}

/** A word of an instruction, as it appears in the dump. */
export interface Arg {
  value: string;
  range: Range;
}

/**
 * A flag such as `--from=build`. `raw` is the flag as BuildKit's dump prints it (quotes removed,
 * escapes resolved): `--from=build`. `name` is the part after `--` and before `=`, `value` the
 * part after the first `=` or null for a bare flag (`--link`).
 */
export interface Flag {
  name: string;
  value: string | null;
  raw: string;
  range: Range;
}

/** A heredoc body opened by `<<EOF` (or `<<-EOF`, `<<"EOF"`, `3<<EOF`). */
export interface Heredoc {
  /** The delimiter word with its quotes removed. */
  name: string;
  /** The file descriptor prefix (`3<<EOF` → 3); 0 when none was written. */
  fileDescriptor: number;
  /** False when the delimiter was quoted (in whole or in part): the body is not expanded. */
  expand: boolean;
  /** True for `<<-`: leading tabs are to be removed from every body line (later, not here). */
  chomp: boolean;
  /** The raw body: every line up to the terminator, each with its line ending. */
  content: string;
  /** From the first body line to the end of the terminator line. */
  range: Range;
}

/** ENV and LABEL entries. `sep` is `=` for `k=v` and `` for the old `ENV k v` form. */
export interface KeyValue {
  key: string;
  value: string;
  sep: '=' | '';
  range: Range;
}

export type InstructionKind =
  | 'FROM'
  | 'RUN'
  | 'CMD'
  | 'LABEL'
  | 'MAINTAINER'
  | 'EXPOSE'
  | 'ENV'
  | 'ADD'
  | 'COPY'
  | 'ENTRYPOINT'
  | 'VOLUME'
  | 'USER'
  | 'WORKDIR'
  | 'ARG'
  | 'ONBUILD'
  | 'STOPSIGNAL'
  | 'HEALTHCHECK'
  | 'SHELL';

interface NodeBase {
  /** The keyword as written (`Run`, `copy`, …). */
  keyword: string;
  /** From the keyword to the end of the last line (continuations and heredoc terminators included). */
  range: Range;
  /** Range of the keyword itself. */
  keywordRange: Range;
  flags: Flag[];
  /** The logical line: continuation lines joined, comments inside removed, heredoc bodies excluded. */
  original: string;
  /** The rest of the logical line after the keyword and flags, trimmed. */
  rest: string;
  heredocs: Heredoc[];
}

/** RUN, CMD, ENTRYPOINT, SHELL: `json` is true for exec form; shell form has one arg (or none). */
export interface CommandNode<K extends 'RUN' | 'CMD' | 'ENTRYPOINT' | 'SHELL'> extends NodeBase {
  kind: K;
  json: boolean;
  args: Arg[];
}

/** ADD, COPY, VOLUME: `json` is true when written as a JSON array. */
export interface PathsNode<K extends 'ADD' | 'COPY' | 'VOLUME'> extends NodeBase {
  kind: K;
  json: boolean;
  args: Arg[];
}

/** Instructions whose args are plain words or a single rest-of-line string. */
export interface WordsNode<K extends 'FROM' | 'EXPOSE' | 'ARG' | 'MAINTAINER' | 'USER' | 'WORKDIR' | 'STOPSIGNAL'>
  extends NodeBase {
  kind: K;
  args: Arg[];
}

export interface KeyValueNode<K extends 'ENV' | 'LABEL'> extends NodeBase {
  kind: K;
  pairs: KeyValue[];
}

/** HEALTHCHECK: args[0] is the type word (CMD, NONE, …), the rest as for CMD. */
export interface HealthcheckNode extends NodeBase {
  kind: 'HEALTHCHECK';
  json: boolean;
  args: Arg[];
}

export interface OnbuildNode extends NodeBase {
  kind: 'ONBUILD';
  /** The trigger; null for a bare `ONBUILD`. */
  trigger: Instruction | null;
}

/** An unknown keyword: kept so the dump matches BuildKit; the planner reports it. */
export interface UnknownNode extends NodeBase {
  kind: 'UNKNOWN';
}

export type RunNode = CommandNode<'RUN'>;
export type CmdNode = CommandNode<'CMD'>;
export type EntrypointNode = CommandNode<'ENTRYPOINT'>;
export type ShellNode = CommandNode<'SHELL'>;
export type AddNode = PathsNode<'ADD'>;
export type CopyNode = PathsNode<'COPY'>;
export type VolumeNode = PathsNode<'VOLUME'>;
export type FromNode = WordsNode<'FROM'>;
export type ExposeNode = WordsNode<'EXPOSE'>;
export type ArgNode = WordsNode<'ARG'>;
export type MaintainerNode = WordsNode<'MAINTAINER'>;
export type UserNode = WordsNode<'USER'>;
export type WorkdirNode = WordsNode<'WORKDIR'>;
export type StopsignalNode = WordsNode<'STOPSIGNAL'>;
export type EnvNode = KeyValueNode<'ENV'>;
export type LabelNode = KeyValueNode<'LABEL'>;

export type Instruction =
  | RunNode
  | CmdNode
  | EntrypointNode
  | ShellNode
  | AddNode
  | CopyNode
  | VolumeNode
  | FromNode
  | ExposeNode
  | ArgNode
  | MaintainerNode
  | UserNode
  | WorkdirNode
  | StopsignalNode
  | EnvNode
  | LabelNode
  | HealthcheckNode
  | OnbuildNode
  | UnknownNode;

/** A warning the parser collected (it never prints). */
export interface ParseWarning {
  /** A stable identifier, as BuildKit's checks name them (`NoEmptyContinuation`, `MaintainerDeprecated`, …). */
  rule: string;
  message: string;
  range: Range;
}

export interface Dockerfile {
  /** The file name errors and warnings are reported against. */
  file: string;
  directives: Directive[];
  /** The escape character in force: `\` or `` ` ``. */
  escapeToken: '\\' | '`';
  instructions: Instruction[];
}

export interface ParseResult {
  ast: Dockerfile;
  warnings: ParseWarning[];
}
