/**
 * Typed commands from AST nodes, as BuildKit's `frontend/dockerfile/instructions/parse.go`
 * (`parseRun` → `RunCommand`, …). Pure: no expansion happens here (see expand.ts), except that
 * `<<-` heredoc bodies lose their leading tabs, as BuildKit does when it builds the instruction.
 *
 * Every check BuildKit makes at this stage is made here, with BuildKit's messages: allowed flags
 * per instruction, argument counts, HEALTHCHECK durations, SHELL in JSON form, ONBUILD triggers,
 * RUN --mount specs. All failures are PlanErrors carrying the node's (or flag's) range.
 *
 * Split along BuildKit's files: the command types are in ./commands.ts, `--mount` values in
 * ./mounts.ts, durations in ./durations.ts; this module parses and re-exports them.
 */
import { PlanError } from '../errors.js';
import type { Range } from '../oci/range.js';
import type { AddNode, ArgNode, CopyNode, Dockerfile, EnvNode, Flag, FromNode, HealthcheckNode, Heredoc, Instruction, LabelNode, OnbuildNode, RunNode, UnknownNode } from '../parser/ast.js';
import { unknownInstructionError } from '../parser/index.js';
import type {
  AddCommand, ArgCommand, ArgDecl, Command, CopyCommand, CopySource, FromHeader, HealthcheckCommand,
  HealthConfig, HeredocFile, KeyValuePair, MountSpec, OnbuildCommand, RunCommand,
} from './commands.js';
import { parseChmodFlag } from './chmod.js';
import { CHECKSUM_HINT, COPY_GIT_ERROR, COPY_URL_ERROR, isGitSource, isUrlSource, parseChecksum } from './copy-sources.js';
import { parseGoDuration } from './durations.js';
import { mountFrom, MountSpecError, parseMount } from './mounts.js';
import { suggest } from './suggest.js';

/** Where commands come from: the AST (for its file name) and, optionally, the text for excerpts. */
export interface ParseContext {
  ast: Dockerfile;
  /** The Dockerfile text: attached to errors so `format()` prints the source line. */
  text?: string;
}

/** A PlanError pointing at `range` in the Dockerfile. */
export function planError(ctx: ParseContext, range: Range, message: string, hint?: string): PlanError {
  return new PlanError(message, { source: { file: ctx.ast.file, range, ...(ctx.text !== undefined ? { text: ctx.text } : {}) }, ...(hint ? { hint } : {}) });
}

// ---------------------------------------------------------------------------------------------
// Argument-count helpers, named after the condition (BuildKit's errExactlyOneArgument, …).

export function exactlyOneArgument(cmd: string): string {
  return `${cmd} requires exactly one argument`;
}
export function atLeastOneArgument(cmd: string): string {
  return `${cmd} requires at least one argument`;
}
export function noDestinationArgument(cmd: string): string {
  return `${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`;
}
export function blankCommandNames(cmd: string): string {
  return `${cmd} names can not be blank`;
}

// ---------------------------------------------------------------------------------------------
// Command types

type FlagType = 'string' | 'strings' | 'bool';
type FlagSpec = Record<string, FlagType>;
type FlagValues = Map<string, { type: FlagType; value: string | string[] | boolean; flag: Flag }>;

/** Flags each instruction accepts (everything else is `unknown flag`). */
export const ALLOWED_FLAGS: Readonly<Record<string, FlagSpec>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', checksum: 'string', 'keep-git-dir': 'bool', exclude: 'strings', unpack: 'bool' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

function parseFlags(ctx: ParseContext, kind: string, flags: Flag[]): FlagValues {
  const spec = ALLOWED_FLAGS[kind] ?? {};
  const out: FlagValues = new Map();
  for (const f of flags) {
    const type = Object.prototype.hasOwnProperty.call(spec, f.name) ? spec[f.name] : undefined;
    if (!type) {
      const allowed = Object.keys(spec).map((n) => `--${n}`);
      const near = suggest(f.name, Object.keys(spec));
      const hint = allowed.length === 0 ? `${kind} takes no flags` : `${near ? `did you mean --${near}? ` : ''}${kind} accepts ${allowed.join(', ')}`;
      throw planError(ctx, f.range, `unknown flag: --${f.name}`, hint);
    }
    const prev = out.get(f.name);
    if (prev && type !== 'strings') throw planError(ctx, f.range, `duplicate flag specified: --${f.name}`);
    if (type === 'bool') {
      if (f.value === '') throw planError(ctx, f.range, `missing a value on flag: --${f.name}`);
      const v = (f.value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw planError(ctx, f.range, `expecting boolean value for flag ${f.name}, not: ${f.value}`, 'use true or false');
      out.set(f.name, { type, value: v === 'true', flag: f });
    } else {
      if (f.value === null) throw planError(ctx, f.range, `missing a value on flag: --${f.name}`, `write --${f.name}=<value>`);
      if (type === 'strings') {
        const list = prev ? (prev.value as string[]) : [];
        list.push(f.value);
        out.set(f.name, { type, value: list, flag: f });
      } else {
        out.set(f.name, { type, value: f.value, flag: f });
      }
    }
  }
  return out;
}

function str(v: FlagValues, name: string): string | undefined {
  const e = v.get(name);
  return e ? (e.value as string) : undefined;
}
function strs(v: FlagValues, name: string): string[] {
  const e = v.get(name);
  return e ? (e.value as string[]) : [];
}
function bool(v: FlagValues, name: string): boolean | undefined {
  const e = v.get(name);
  return e ? (e.value as boolean) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Heredocs

/** BuildKit's ChompHeredocContent: remove leading tabs from every line. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}

function heredocFile(h: Heredoc): HeredocFile {
  return { name: h.name, data: h.chomp ? chompHeredocContent(h.content) : h.content, expand: h.expand, fileDescriptor: h.fileDescriptor };
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*(.+)$/s;

const MIN_DURATION_NS = 1e6;

function parseInterval(ctx: ParseContext, v: FlagValues, name: string): number {
  const e = v.get(name);
  if (!e || e.value === '') return 0;
  let d: number;
  try {
    d = parseGoDuration(e.value as string);
  } catch (msg) {
    throw planError(ctx, e.flag.range, String(msg), 'a Go duration such as 30s, 1m30s or 500ms');
  }
  if (d === 0) return 0;
  if (d < MIN_DURATION_NS) throw planError(ctx, e.flag.range, `Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Per-instruction parsers

function argValues(node: { args: { value: string }[] }): string[] {
  return node.args.map((a) => a.value);
}

function noFlags(ctx: ParseContext, kind: string, node: { flags: Flag[] }): void {
  parseFlags(ctx, kind, node.flags);
}

/** BuildKit's parseBuildStageName and parseFrom. */
export function parseFrom(node: FromNode, ctx: ParseContext): FromHeader {
  const flags = parseFlags(ctx, 'FROM', node.flags);
  const args = argValues(node);
  let name: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    name = args[2]!.toLowerCase();
    if (!/^[a-z][a-z0-9-_.]*$/.test(name)) {
      throw planError(ctx, node.args[2]!.range, `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`, 'a stage name starts with a letter and has only letters, digits, "-", "_" and "."');
    }
  } else if (args.length !== 1) {
    throw planError(ctx, node.range, 'FROM requires either one or three arguments', args.length === 3 ? 'write FROM <image> AS <name>' : undefined);
  }
  const platform = str(flags, 'platform');
  return { node, image: args[0]!, ...(name !== undefined ? { name } : {}), ...(platform !== undefined ? { platform } : {}) };
}

function parseRun(node: RunNode, ctx: ParseContext): RunCommand {
  const flags = parseFlags(ctx, 'RUN', node.flags);
  const args = argValues(node);
  if (args.length === 0 && node.heredocs.length === 0) throw planError(ctx, node.range, atLeastOneArgument('RUN'));
  const mountFlags = strs(flags, 'mount');
  const mountEntries = flags.get('mount');
  const mountFroms: string[] = [];
  let mounts: MountSpec[] | null = [];
  for (const raw of mountFlags) {
    try {
      const from = mountFrom(raw);
      if (from !== undefined && from !== '') mountFroms.push(from);
      if (mounts && !raw.includes('$')) mounts.push(parseMount(raw));
      else mounts = null;
    } catch (e) {
      if (e instanceof MountSpecError) throw planError(ctx, mountFlagRange(node, raw) ?? mountEntries!.flag.range, e.message, e.hint);
      throw e;
    }
  }
  const cmd: RunCommand = {
    kind: 'RUN',
    node,
    args,
    prependShell: !node.json,
    heredocs: node.heredocs.map(heredocFile),
    mountFlags,
    mounts,
    mountFroms,
  };
  const network = str(flags, 'network');
  if (network !== undefined) {
    if (network !== 'default' && network !== 'none' && network !== 'host') {
      throw planError(ctx, flags.get('network')!.flag.range, `unsupported network mode ${JSON.stringify(network)}`, 'one of default, none, host');
    }
    cmd.network = network;
  }
  const security = str(flags, 'security');
  if (security !== undefined) {
    if (security !== 'sandbox' && security !== 'insecure') {
      throw planError(ctx, flags.get('security')!.flag.range, `unsupported security mode ${JSON.stringify(security)}`, 'one of sandbox, insecure');
    }
    cmd.security = security;
  }
  return cmd;
}

/** The range of the `--mount` flag whose value is `raw` (for errors). */
export function mountFlagRange(node: { flags: Flag[] }, raw: string): Range | undefined {
  return node.flags.find((f) => f.name === 'mount' && f.value === raw)?.range;
}

function parseSourcesAndDest(node: CopyNode | AddNode, ctx: ParseContext, kind: 'COPY' | 'ADD'): CopySource {
  const args = argValues(node);
  if (args.length < 2) throw planError(ctx, node.range, noDestinationArgument(kind), `write ${kind} <src>... <dest>`);
  const dest = args[args.length - 1]!;
  if (!node.json && HEREDOC_WORD.test(dest) && node.heredocs.length > 0) {
    throw planError(ctx, node.args[args.length - 1]!.range, `${kind} cannot accept a heredoc as a destination`);
  }
  const paths: string[] = [];
  const contents: HeredocFile[] = [];
  let h = 0;
  for (const src of args.slice(0, -1)) {
    if (!node.json && HEREDOC_WORD.test(src) && h < node.heredocs.length) contents.push(heredocFile(node.heredocs[h++]!));
    else paths.push(src);
  }
  return { paths, contents, dest };
}

/** A literal --chmod is checked here (BuildKit refuses a bad one before building); `$` values when expanded. */
function checkChmod(ctx: ParseContext, flags: ReturnType<typeof parseFlags>, chmod: string | undefined): void {
  if (chmod === undefined || chmod === '' || chmod.includes('$')) return;
  const parsed = parseChmodFlag(chmod);
  if ('error' in parsed) throw planError(ctx, flags.get('chmod')!.flag.range, parsed.error, 'an octal mode (0755) or a symbolic one as chmod(1) takes it (u+x,g-w, a=rX)');
}

function parseCopy(node: CopyNode, ctx: ParseContext): CopyCommand {
  const flags = parseFlags(ctx, 'COPY', node.flags);
  const sd = parseSourcesAndDest(node, ctx, 'COPY');
  const url = sd.paths.findIndex(isUrlSource);
  if (url >= 0) throw planError(ctx, node.args.find((a) => a.value === sd.paths[url])?.range ?? node.range, COPY_URL_ERROR, 'ADD downloads URLs; COPY takes files from the context or --from');
  const git = sd.paths.findIndex(isGitSource);
  if (git >= 0) throw planError(ctx, node.args.find((a) => a.value === sd.paths[git])?.range ?? node.range, COPY_GIT_ERROR);
  const from = str(flags, 'from');
  const chown = str(flags, 'chown');
  const chmod = str(flags, 'chmod');
  checkChmod(ctx, flags, chmod);
  return {
    kind: 'COPY',
    node,
    ...sd,
    ...(from !== undefined && from !== '' ? { from } : {}),
    ...(chown !== undefined && chown !== '' ? { chown } : {}),
    ...(chmod !== undefined && chmod !== '' ? { chmod } : {}),
    link: bool(flags, 'link') ?? false,
    parents: bool(flags, 'parents') ?? false,
    exclude: strs(flags, 'exclude'),
  };
}

function parseAdd(node: AddNode, ctx: ParseContext): AddCommand {
  const flags = parseFlags(ctx, 'ADD', node.flags);
  const sd = parseSourcesAndDest(node, ctx, 'ADD');
  const git = sd.paths.some(isGitSource);
  const chown = str(flags, 'chown');
  const chmod = str(flags, 'chmod');
  checkChmod(ctx, flags, chmod);
  const checksum = str(flags, 'checksum');
  if (checksum !== undefined && checksum !== '' && sd.paths.length + sd.contents.length > 1) {
    throw planError(ctx, flags.get('checksum')!.flag.range, 'checksum can\'t be specified for multiple sources');
  }
  // A git source's checksum is a commit SHA (prefix), checked by the builder (src/context/git.ts).
  if (checksum !== undefined && checksum !== '' && !checksum.includes('$') && !git) {
    const parsed = parseChecksum(checksum);
    if ('error' in parsed) throw planError(ctx, flags.get('checksum')!.flag.range, `--checksum=${checksum}: ${parsed.error}`, CHECKSUM_HINT);
  }
  const unpack = bool(flags, 'unpack');
  return {
    kind: 'ADD',
    node,
    ...sd,
    ...(chown !== undefined && chown !== '' ? { chown } : {}),
    ...(chmod !== undefined && chmod !== '' ? { chmod } : {}),
    ...(checksum !== undefined && checksum !== '' ? { checksum } : {}),
    link: bool(flags, 'link') ?? false,
    keepGitDir: bool(flags, 'keep-git-dir') ?? false,
    exclude: strs(flags, 'exclude'),
    ...(unpack !== undefined ? { unpack } : {}),
  };
}

function parseKvps(ctx: ParseContext, node: EnvNode | LabelNode, kind: 'ENV' | 'LABEL'): KeyValuePair[] {
  if (node.pairs.length === 0) throw planError(ctx, node.range, atLeastOneArgument(kind));
  return node.pairs.map((p) => {
    if (p.key.length === 0) throw planError(ctx, p.range, blankCommandNames(kind));
    return { key: p.key, value: p.value };
  });
}

function exactlyOne(ctx: ParseContext, node: { args: { value: string }[]; range: Range }, kind: string): string {
  if (node.args.length !== 1) throw planError(ctx, node.range, exactlyOneArgument(kind));
  return node.args[0]!.value;
}

function parseHealthcheck(node: HealthcheckNode, ctx: ParseContext): HealthcheckCommand {
  const args = argValues(node);
  if (args.length === 0) throw planError(ctx, node.range, atLeastOneArgument('HEALTHCHECK'), 'write HEALTHCHECK [options] CMD <command> or HEALTHCHECK NONE');
  const typ = args[0]!.toUpperCase();
  if (typ === 'NONE') {
    // As BuildKit: with NONE the flags are not even parsed (they would have no effect).
    if (args.length !== 1) throw planError(ctx, node.range, 'HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', node, health: { test: ['NONE'], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 } };
  }
  const flags = parseFlags(ctx, 'HEALTHCHECK', node.flags);
  if (typ !== 'CMD') throw planError(ctx, node.args[0]!.range, `Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
  const cmdArgs = args.slice(1);
  if (cmdArgs.length === 0) throw planError(ctx, node.range, 'Missing command after HEALTHCHECK CMD');
  const test = node.json ? ['CMD', ...cmdArgs] : ['CMD-SHELL', ...cmdArgs];
  const health: HealthConfig = {
    test,
    interval: parseInterval(ctx, flags, 'interval'),
    timeout: parseInterval(ctx, flags, 'timeout'),
    startPeriod: parseInterval(ctx, flags, 'start-period'),
    startInterval: parseInterval(ctx, flags, 'start-interval'),
    retries: 0,
  };
  const r = flags.get('retries');
  if (r && r.value !== '') {
    const s = r.value as string;
    if (!/^[+-]?\d+$/.test(s) || Math.abs(Number(s)) > 2 ** 31 - 1) {
      throw planError(ctx, r.flag.range, `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`, '--retries takes a whole number');
    }
    const n = Number(s);
    if (n < 0) throw planError(ctx, r.flag.range, `--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return { kind: 'HEALTHCHECK', node, health };
}

function parseArg(node: ArgNode, ctx: ParseContext): ArgCommand {
  if (node.args.length === 0) throw planError(ctx, node.range, atLeastOneArgument('ARG'), 'write ARG <name>[=<default>]');
  const args = node.args.map((a): ArgDecl => {
    const eq = a.value.indexOf('=');
    if (eq < 0) return { name: a.value };
    if (eq === 0) throw planError(ctx, a.range, blankCommandNames('ARG'));
    return { name: a.value.slice(0, eq), value: a.value.slice(eq + 1) };
  });
  return { kind: 'ARG', node, args };
}

function parseOnbuild(node: OnbuildNode, ctx: ParseContext): OnbuildCommand {
  const trigger = node.trigger;
  if (!trigger) throw planError(ctx, node.range, atLeastOneArgument('ONBUILD'));
  const kw = trigger.keyword.toUpperCase();
  if (kw === 'ONBUILD') throw planError(ctx, trigger.keywordRange, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (kw === 'FROM' || kw === 'MAINTAINER') throw planError(ctx, trigger.keywordRange, `${kw} isn't allowed as an ONBUILD trigger`);
  let expression = node.original.replace(/^\s*ONBUILD\s*/i, '');
  const heredocs = trigger.heredocs.length > 0 ? trigger.heredocs : node.heredocs;
  for (const h of heredocs) expression += `\n${h.content}${h.name}`;
  return { kind: 'ONBUILD', node, expression };
}

function parseUnknown(node: UnknownNode, ctx: ParseContext): never {
  const e = unknownInstructionError(node, ctx.ast);
  if (ctx.text !== undefined && e.source && e.source.text === undefined) {
    throw new PlanError(e.message, { source: { ...e.source, text: ctx.text }, ...(e.hint ? { hint: e.hint } : {}) });
  }
  throw e;
}

/**
 * Builds the typed command for one instruction. FROM is not a command (use `parseFrom`); an
 * unknown keyword throws the parser's `unknownInstructionError`. Throws PlanError for any invalid
 * instruction, with the range of the node (or of the offending flag/argument).
 */
export function parseCommand(node: Instruction, ctx: ParseContext): Command {
  switch (node.kind) {
    case 'FROM':
      throw planError(ctx, node.range, 'FROM is a stage header, not a command', 'use parseFrom');
    case 'RUN':
      return parseRun(node, ctx);
    case 'CMD':
    case 'ENTRYPOINT':
      noFlags(ctx, node.kind, node);
      if (node.kind === 'CMD') return { kind: 'CMD', node, args: argValues(node), prependShell: !node.json };
      return { kind: 'ENTRYPOINT', node, args: argValues(node), prependShell: !node.json };
    case 'SHELL': {
      noFlags(ctx, 'SHELL', node);
      if (!node.json) throw planError(ctx, node.range, 'SHELL requires the arguments to be in JSON form', 'write SHELL ["/bin/sh", "-c"]');
      if (node.args.length === 0) throw planError(ctx, node.range, atLeastOneArgument('SHELL'));
      return { kind: 'SHELL', node, shell: argValues(node) };
    }
    case 'COPY':
      return parseCopy(node, ctx);
    case 'ADD':
      return parseAdd(node, ctx);
    case 'VOLUME': {
      noFlags(ctx, 'VOLUME', node);
      if (node.args.length === 0) throw planError(ctx, node.range, atLeastOneArgument('VOLUME'));
      return { kind: 'VOLUME', node, volumes: argValues(node) };
    }
    case 'EXPOSE':
      noFlags(ctx, 'EXPOSE', node);
      if (node.args.length === 0) throw planError(ctx, node.range, atLeastOneArgument('EXPOSE'));
      return { kind: 'EXPOSE', node, ports: argValues(node) };
    case 'ARG':
      noFlags(ctx, 'ARG', node);
      return parseArg(node, ctx);
    case 'MAINTAINER':
      noFlags(ctx, 'MAINTAINER', node);
      return { kind: 'MAINTAINER', node, maintainer: exactlyOne(ctx, node, 'MAINTAINER') };
    case 'USER':
      noFlags(ctx, 'USER', node);
      return { kind: 'USER', node, user: exactlyOne(ctx, node, 'USER') };
    case 'WORKDIR':
      noFlags(ctx, 'WORKDIR', node);
      return { kind: 'WORKDIR', node, path: exactlyOne(ctx, node, 'WORKDIR') };
    case 'STOPSIGNAL':
      noFlags(ctx, 'STOPSIGNAL', node);
      return { kind: 'STOPSIGNAL', node, signal: exactlyOne(ctx, node, 'STOPSIGNAL') };
    case 'ENV':
      noFlags(ctx, 'ENV', node);
      return { kind: 'ENV', node, env: parseKvps(ctx, node, 'ENV') };
    case 'LABEL':
      noFlags(ctx, 'LABEL', node);
      return { kind: 'LABEL', node, labels: parseKvps(ctx, node, 'LABEL') };
    case 'HEALTHCHECK':
      return parseHealthcheck(node, ctx);
    case 'ONBUILD':
      noFlags(ctx, 'ONBUILD', node);
      return parseOnbuild(node, ctx);
    case 'UNKNOWN':
      return parseUnknown(node, ctx);
  }
}
