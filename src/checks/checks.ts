/**
 * BuildKit's build checks, all 22 rules, evaluated the way dockerfile2llb fires them (its
 * convert.go, validations.go and convert_expose.go): a parse phase (per instruction), a stage
 * phase (names, casing, FROM expansion) and a dispatch phase that walks each stage's commands
 * with the stage's environment (base image Env and Shell, ENV, ARG) as BuildKit does.
 *
 * Configuration, as BuildKit: the `# check=skip=A,B;error=true;experimental=C` directive, or the
 * BUILDKIT_DOCKERFILE_CHECK build arg instead of it (same syntax); a `# check=` comment right
 * above an instruction adds skips for that instruction's rules (not for casing, stage-name,
 * InvalidDefaultArgInFrom, InvalidBaseImagePlatform or NoEmptyContinuation, which BuildKit checks
 * with the file's configuration). Experimental rules fire only when enabled.
 *
 * Inputs are plain data: the AST and its text, build args, target, platforms, the .dockerignore
 * patterns (CopyIgnoredFile) and an optional base-image lookup (Env, Shell and platform: for
 * UndefinedVar, JSONArgsRecommended and InvalidBaseImagePlatform). Without a lookup, or when it
 * returns nothing, a stage on an image has an unknown Env: UndefinedVar is not reported there.
 *
 * Also records what `--call=outline` needs (the build args used, secrets, ssh): see outline.ts.
 */
import type { Range } from '../oci/range.js';
import type { Dockerfile, Instruction, ParseWarning } from '../parser/ast.js';
import { BuildError, PlanError } from '../errors.js';
import {
  casingFindings,
  DEFAULT_CHECK_CONFIG,
  instructionFindings,
  mergeCheckConfig,
  MESSAGES,
  parseCheckOptions,
  ruleEnabled,
  RULES,
  type CheckConfig,
  type RuleName,
} from '../parser/checks.js';
import { trimSpace } from '../parser/go.js';
import { PatternMatcher } from '../context/dockerignore.js';
import { goClean } from '../context/go-path.js';
import { parseReference } from '../image/reference.js';
import { type Platform } from '../oci/types.js';
import { buildPlan, predefinedArgs, type Plan } from '../plan/plan.js';
import { hostPlatform } from '../oci/platform.js';
import { type Command, type FromHeader } from '../plan/commands.js';
import { parseMount } from '../plan/mounts.js';
import { parseCommand, parseFrom } from '../plan/instructions.js';
import { ShellLex } from '../plan/shell-lex.js';

/** One fired rule, as BuildKit reports it (lint.Warning): rule, description, URL, message, where. */
export interface CheckWarning {
  rule: RuleName;
  description: string;
  url: string;
  message: string;
  file: string;
  range: Range;
}

/** What a base image tells the checks (a subset of the OCI image config). */
export interface ImageFacts {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { Env?: string[] | null; Shell?: string[] | null };
}

export interface CheckOptions {
  /** The Dockerfile text (per-instruction `# check=` comments and descriptions are read from it). */
  text: string;
  /** `--build-arg` values (BUILDKIT_DOCKERFILE_CHECK among them overrides the directive). */
  buildArgs?: Readonly<Record<string, string>>;
  /** `--target`. */
  target?: string;
  /**
   * Check every stage (`--call=check` without `--target`), not only those the target needs.
   * Default: true when no target is given and `mode` is 'check'.
   */
  allStages?: boolean;
  /** 'check' (`--check`: evaluate only) or 'build' (the warnings of a real build). Default 'check'. */
  mode?: 'check' | 'build';
  platform?: Platform;
  buildPlatform?: Platform;
  /** The context's .dockerignore patterns (parseIgnoreFile output); none: CopyIgnoredFile is not checked. */
  ignorePatterns?: readonly string[];
  /** The parser's warnings (NoEmptyContinuation comes from there). */
  parseWarnings?: readonly ParseWarning[];
  /** Looks up a base image (as the build would resolve it); undefined: unknown. */
  resolveImage?: (ref: string, platform: Platform) => Promise<ImageFacts | undefined>;
}

/** The error that ended the checks (BuildKit's lint BuildError). */
export interface CheckError {
  message: string;
  range?: Range;
}

export interface CheckResult {
  warnings: CheckWarning[];
  /** A Dockerfile error found on the way (the build would fail with it), or `error=true`'s violation. */
  error?: CheckError;
  /** With `error=true` and at least one warning: "lint violation found for rules: A, B". */
  violation?: string;
  /** The configuration in force. */
  config: CheckConfig;
  /** The build args, secrets and ssh ids the target uses (for `--call=outline`). */
  outline: OutlineData;
}

export interface OutlineArg {
  name: string;
  value: string;
  description: string;
  line: number;
}
export interface OutlineMount {
  name: string;
  required: boolean;
  line: number;
}
/** The target's parameters as BuildKit's outline subrequest lists them (before its sort). */
export interface OutlineData {
  name: string;
  description: string;
  args: OutlineArg[];
  secrets: OutlineMount[];
  ssh: OutlineMount[];
}

/**
 * The check configuration for a build (newRuleLinter): BUILDKIT_DOCKERFILE_CHECK when given,
 * else the `# check=` directive. Throws BuildError (PLAN) with BuildKit's message when it does
 * not parse. `skip` lists the skipped rules ('all' for skip=all), `error` is error=true.
 */
export function checkConfig(ast: Dockerfile, buildArgs: Readonly<Record<string, string>> = {}): CheckConfig {
  if (Object.prototype.hasOwnProperty.call(buildArgs, 'BUILDKIT_DOCKERFILE_CHECK')) {
    try {
      return parseCheckOptions(buildArgs.BUILDKIT_DOCKERFILE_CHECK!);
    } catch (e) {
      throw new PlanError(`failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: ${(e as Error).message}`, { hint: 'use skip=<rules>|all, error=true|false, experimental=<rules>|all, separated by ";"' });
    }
  }
  const d = ast.directives.find((x) => x.name === 'check');
  if (!d) return DEFAULT_CHECK_CONFIG;
  try {
    return parseCheckOptions(d.value.split(' ')[0]!);
  } catch (e) {
    throw new PlanError(`failed to parse check options: ${(e as Error).message}`, { source: { file: ast.file, range: d.range }, hint: 'use # check=skip=<rules>|all;error=true|false;experimental=<rules>|all' });
  }
}

/** The short form `checkDirective` returns: rules to skip ('all' or names) and error=true. */
export function checkDirective(ast: Dockerfile, buildArgs: Readonly<Record<string, string>> = {}): { skip: 'all' | string[]; error: boolean; experimental: 'all' | string[] } {
  const c = checkConfig(ast, buildArgs);
  return { skip: c.skipAll ? 'all' : [...c.skip], error: c.error, experimental: c.experimentalAll ? 'all' : [...c.experimental] };
}

/**
 * The comments BuildKit attaches to each instruction (Node.PrevComment): the comment lines since
 * the previous instruction, a bare `#` starting over, parser directives left out. Each is the
 * line without its first character, trimmed (as BuildKit's parser keeps them).
 */
export function instructionComments(ast: Dockerfile, text: string): string[][] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines[0]?.charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  const directiveLines = new Set(ast.directives.map((d) => d.range.start.line));
  const out: string[][] = [];
  let from = 1;
  for (const n of ast.instructions) {
    let comments: string[] = [];
    for (let l = from; l < n.range.start.line; l++) {
      const raw = lines[l - 1] ?? '';
      if (!/^[\t\n\v\f\r ]*#/.test(raw)) continue;
      const c = trimSpace(raw.slice(1));
      if (c === '') comments = [];
      else if (!directiveLines.has(l)) comments.push(c);
    }
    out.push(comments);
    from = n.range.end.line + 1;
  }
  return out;
}

/** BuildKit's getDocComment: the text after `<name> ` in the first comment that starts so. */
export function docComment(comments: readonly string[], name: string): string {
  if (!name) return '';
  for (const c of comments) if (c.startsWith(`${name} `)) return c.slice(name.length + 1);
  return '';
}

/** Plain Levenshtein distance (agext/levenshtein with default costs). */
function levenshtein(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  let prev = Array.from({ length: cb.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ca.length; i++) {
    const cur = [i];
    for (let j = 1; j <= cb.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca[i - 1] === cb[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[cb.length]!;
}

/** BuildKit's suggest.Search (case-sensitive): the first option closer than 3 edits, '' on an exact match. */
function suggestName(val: string, options: Iterable<string>): string {
  let match = '';
  let min = 3;
  for (const o of options) {
    if (o === val) return '';
    const d = levenshtein(val, o);
    if (d < min) {
      match = o;
      min = d;
    }
  }
  return match;
}

const SECRET_DENY = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i;
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);
/** Predefined args BuildKit has and the planner does not define (they are declared for UndefinedArgInFrom). */
const EXTRA_PREDEFINED = ['BUILDOSVERSION', 'TARGETOSVERSION', 'TARGETSTAGE'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

/** containerd platforms.Parse, enough for the checks: os/arch/variant, lower-cased; undefined when invalid. */
function parsePlatformSpec(s: string): { os: string; architecture: string } | undefined {
  const parts = s.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return undefined;
  const arch = (a: string) => ARCH_ALIASES[a] ?? a;
  if (parts.length === 1) return KNOWN_OS.has(parts[0]!) ? { os: parts[0]!, architecture: hostPlatform().architecture } : { os: 'linux', architecture: arch(parts[0]!) };
  return { os: parts[0]!, architecture: arch(parts[1]!) };
}

/** EXPOSE's `[ip:][host:]container[/proto]` split (convert_expose.go splitParts and splitProtoPort). */
function exposeParts(raw: string): { ip: string; hostPort: string; proto: string } | undefined {
  const parts = raw.split(':');
  let ip = '';
  let hostPort = '';
  let container: string;
  if (parts.length === 1) container = parts[0]!;
  else if (parts.length === 2) [hostPort, container] = [parts[0]!, parts[1]!];
  else [ip, hostPort, container] = [parts.slice(0, -2).join(':'), parts[parts.length - 2]!, parts[parts.length - 1]!];
  const slash = container.indexOf('/');
  const port = slash < 0 ? container : container.slice(0, slash);
  const proto = slash < 0 ? '' : container.slice(slash + 1);
  if (port === '' || !['', 'tcp', 'udp', 'sctp'].includes(proto.toLowerCase())) return undefined;
  return { ip, hostPort, proto: proto === '' ? 'tcp' : proto };
}

/** The `$name` / `${…}` references of a heredoc body (expanded raw, quotes kept, as BuildKit's ExpandRaw). */
const VAR_REF = /\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)/g;

interface StageState {
  env: Map<string, string>;
  /** Whether the base image's Env is known (UndefinedVar is only reported when it is). */
  envKnown: boolean;
  /** ARG names declared in the stage (and its base stages): d.buildArgs. */
  declared: string[];
  shell: string[];
  workdirSet: boolean;
  outline: OutlineCapture;
}

interface ArgInfo {
  name: string;
  value: string;
  description: string;
  line: number;
  deps: Set<string>;
}

interface OutlineCapture {
  allArgs: Map<string, ArgInfo>;
  usedArgs: Set<string>;
  secrets: Map<string, { required: boolean; line: number }>;
  ssh: Map<string, { required: boolean; line: number }>;
}

function cloneOutline(o: OutlineCapture): OutlineCapture {
  return { allArgs: new Map(o.allArgs), usedArgs: new Set(o.usedArgs), secrets: new Map(o.secrets), ssh: new Map(o.ssh) };
}

class Stop extends Error {
  constructor(readonly checkError: CheckError) {
    super(checkError.message);
  }
}

/**
 * Runs every check on `ast` (see the module comment). Never throws for a Dockerfile problem: the
 * first error the build would hit ends the checks and is returned as `error`, with the warnings
 * found until then (as BuildKit's lint result). A bad check configuration is such an error too.
 */
export async function runChecks(ast: Dockerfile, opts: CheckOptions): Promise<CheckResult> {
  const buildArgs = opts.buildArgs ?? {};
  const mode = opts.mode ?? 'check';
  const allStages = opts.allStages ?? (mode === 'check' && opts.target === undefined);
  const warnings: CheckWarning[] = [];
  const called: string[] = [];
  const outlineOut: OutlineData = { name: '', description: '', args: [], secrets: [], ssh: [] };
  let config = DEFAULT_CHECK_CONFIG;
  const finish = (error?: CheckError): CheckResult => {
    const r: CheckResult = { warnings, config, outline: outlineOut };
    if (error) r.error = error;
    if (!error && config.error && called.length) {
      r.violation = `lint violation found for rules: ${[...new Set(called)].join(', ')}`;
      r.error = { message: r.violation };
    }
    return r;
  };
  try {
    config = checkConfig(ast, buildArgs);
  } catch (e) {
    return finish({ message: (e as Error).message, ...((e as BuildError).source ? { range: (e as BuildError).source!.range } : {}) });
  }
  const comments = instructionComments(ast, opts.text);
  const commentConfig = new Map<number, CheckConfig>();
  const configFor = (i: number | undefined): CheckConfig => {
    if (i === undefined) return config;
    let c = commentConfig.get(i);
    if (!c) {
      c = config;
      // WithMergedConfigFromComments: the first `check=` comment, its value up to a space.
      for (const line of comments[i]!) {
        const m = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s.exec(line);
        if (!m || m[1]!.toLowerCase() !== 'check') continue;
        try {
          c = mergeCheckConfig(config, parseCheckOptions(m[2]!.split(' ')[0]!));
        } catch {
          /* BuildKit keeps the file's configuration */
        }
        break;
      }
      commentConfig.set(i, c);
    }
    return c;
  };
  const fire = (rule: RuleName, range: Range, message: string, instr?: number): void => {
    const r = RULES[rule];
    if (!ruleEnabled(configFor(instr), r)) return;
    called.push(rule);
    warnings.push({ rule, description: r.description, url: r.url, message, file: ast.file, range });
  };
  const index = new Map<Instruction, number>(ast.instructions.map((n, i) => [n, i]));
  const errorOf = (e: unknown, range?: Range): CheckError => {
    if (e instanceof BuildError) return { message: e.message, ...(e.source ? { range: e.source.range } : range ? { range } : {}) };
    throw e;
  };

  try {
    // NoEmptyContinuation: reported on the instruction's last line (before any heredoc body).
    for (const w of opts.parseWarnings ?? []) {
      if (w.rule !== 'NoEmptyContinuation') continue;
      const node = ast.instructions.find((n) => n.range.start.offset === w.range.start.offset);
      const line = node && node.heredocs.length ? node.heredocs[0]!.range.start.line - 1 : w.range.end.line;
      const at = { line, col: 1, offset: w.range.end.offset };
      fire('NoEmptyContinuation', { start: at, end: at }, MESSAGES.NoEmptyContinuation());
    }

    // Parse phase (instructions.Parse): per instruction, in file order, stopping at an invalid one.
    const ctx = { ast, text: opts.text };
    const headers: FromHeader[] = [];
    const metaArgs: { cmd: Extract<Command, { kind: 'ARG' }>; i: number }[] = [];
    const commandsOf = new Map<Instruction, Command>();
    for (const [i, n] of ast.instructions.entries()) {
      for (const f of instructionFindings(n)) fire(f.rule, n.range, f.message, i);
      try {
        if (n.kind === 'FROM') {
          const h = parseFrom(n, ctx);
          headers.push(h);
          if (h.name !== undefined) definitionDescription('FROM', [h.name], i, n.range);
        } else {
          const cmd = parseCommand(n, ctx);
          commandsOf.set(n, cmd);
          if (cmd.kind === 'ARG') {
            definitionDescription('ARG', cmd.args.map((a) => a.name), i, n.range);
            if (headers.length === 0) metaArgs.push({ cmd, i });
          }
        }
      } catch (e) {
        throw new Stop(errorOf(e, n.range));
      }
    }
    function definitionDescription(instruction: string, keys: string[], i: number, range: Range): void {
      const c = comments[i]!;
      if (c.length === 0 || keys.length === 0) return;
      if (keys.includes(c[c.length - 1]!.split(' ')[0]!)) return;
      fire('InvalidDefinitionDescription', range, MESSAGES.InvalidDefinitionDescription(instruction, keys.length > 1 ? '<arg_key>' : keys[0]!), i);
    }
    if (headers.length === 0) throw new Stop({ message: 'dockerfile contains no stages to build' });

    // Stage phase, with the file's configuration (validateStageNames, validateCommandCasing).
    const seen = new Set<string>();
    for (const h of headers) {
      if (h.name === undefined) continue;
      if (h.name === 'context' || h.name === 'scratch') fire('ReservedStageName', h.node.range, MESSAGES.ReservedStageName(h.name));
      if (seen.has(h.name)) fire('DuplicateStageName', h.node.range, MESSAGES.DuplicateStageName(h.name));
      seen.add(h.name);
    }
    for (const c of casingFindings(ast)) fire('ConsistentInstructionCasing', c.node.range, c.message);

    const lex = new ShellLex(ast.escapeToken);
    const buildPlatform = opts.buildPlatform ?? hostPlatform();
    const platform = opts.platform ?? buildPlatform;
    const predefined = predefinedArgs(platform, buildPlatform);
    for (const k of predefined.keys()) if (Object.prototype.hasOwnProperty.call(buildArgs, k)) predefined.set(k, buildArgs[k]!);

    // validateBaseImagesWithDefaultArgs: the base names with the ARG defaults only.
    const metaScope = (withBuildArgs: boolean): { env: Map<string, string>; infos: Map<string, ArgInfo> } | undefined => {
      const env = new Map(predefined);
      const infos = new Map<string, ArgInfo>();
      for (const { cmd, i } of metaArgs) {
        for (const a of cmd.args) {
          const info: ArgInfo = { name: a.name, value: '', description: docComment(comments[i]!, a.name), line: cmd.node.range.start.line, deps: new Set() };
          let value: string | undefined;
          if (withBuildArgs && Object.prototype.hasOwnProperty.call(buildArgs, a.name)) value = buildArgs[a.name];
          else if (a.value !== undefined) {
            let r;
            try {
              r = lex.processWordWithMatches(a.value, env);
            } catch (e) {
              if (!withBuildArgs) return undefined;
              throw new Stop(errorOf(e, cmd.node.range));
            }
            value = r.result;
            info.deps = new Set(r.matched);
            if (r.matched.has(a.name)) {
              info.deps.delete(a.name);
              for (const d of infos.get(a.name)?.deps ?? []) info.deps.add(d);
            }
          }
          if (value !== undefined) {
            env.set(a.name, value);
            info.value = value;
          }
          infos.set(a.name, info);
        }
      }
      return { env, infos };
    };
    const defaults = metaScope(false);
    if (defaults) {
      for (const h of headers) {
        let name: string;
        try {
          name = lex.processWord(h.image, defaults.env);
        } catch {
          break;
        }
        try {
          parseReference(name);
        } catch {
          fire('InvalidDefaultArgInFrom', h.node.range, MESSAGES.InvalidDefaultArgInFrom(h.image));
        }
      }
    }
    const meta = metaScope(true)!;
    const globalArgs = meta.env;

    // FROM expansion (buildDispatchStates), with the FROM line's comments.
    const argKeys = new Set([...globalArgs.keys(), ...meta.infos.keys(), ...EXTRA_PREDEFINED]);
    const fromUsed: Set<string>[] = [];
    const stagePlatforms: (Platform | undefined)[] = [];
    for (const h of headers) {
      const i = index.get(h.node)!;
      const used = new Set<string>();
      const undeclared = (unmatched: Set<string>) => {
        for (const a of unmatched) if (!argKeys.has(a)) fire('UndefinedArgInFrom', h.node.range, MESSAGES.UndefinedArgInFrom(a, suggestName(a, argKeys)), i);
      };
      try {
        const r = lex.processWordWithMatches(h.image, globalArgs);
        undeclared(r.unmatched);
        for (const m of r.matched) used.add(m);
      } catch (e) {
        throw new Stop(errorOf(e, h.node.range));
      }
      let sp: Platform | undefined;
      if (h.platform !== undefined) {
        let r;
        try {
          r = lex.processWordWithMatches(h.platform, globalArgs);
        } catch (e) {
          throw new Stop(errorOf(e, h.node.range));
        }
        undeclared(r.unmatched);
        if (r.matched.size === 1 && r.unmatched.size === 0 && r.matched.has('TARGETPLATFORM') && r.result === globalArgs.get('TARGETPLATFORM')) {
          fire('RedundantTargetPlatform', h.node.range, MESSAGES.RedundantTargetPlatform(h.platform), i);
        }
        if (r.matched.size === 0 && r.unmatched.size === 0) {
          const p = parsePlatformSpec(r.result);
          const name = h.name ?? '';
          if (p && !name.includes(p.os) && !name.includes(p.architecture)) fire('FromPlatformFlagConstDisallowed', h.node.range, MESSAGES.FromPlatformFlagConstDisallowed(r.result), i);
        }
        if (r.result === '') {
          const near = [...r.unmatched].map((u) => suggestName(u, globalArgs.keys())).find(Boolean);
          throw new Stop({ message: `empty platform value from expression ${h.platform}${near ? ` (did you mean ${near}?)` : ''}`, range: h.node.range });
        }
        for (const m of r.matched) used.add(m);
        const p = parsePlatformSpec(r.result);
        if (p) sp = { os: p.os, architecture: p.architecture };
      }
      fromUsed.push(used);
      stagePlatforms.push(sp);
    }

    // The stage graph, as the build sees it.
    let plan: Plan;
    try {
      plan = buildPlan(ast, {
        buildArgs: buildArgs as Record<string, string>,
        ...(opts.target !== undefined ? { target: opts.target } : {}),
        platform,
        buildPlatform,
        text: opts.text,
      });
    } catch (e) {
      throw new Stop(errorOf(e));
    }
    const included = new Set(allStages ? plan.stages.map((s) => s.index) : plan.order);

    // Base images (InvalidBaseImagePlatform, with the file's configuration).
    const facts = new Map<number, ImageFacts | undefined>();
    for (const s of plan.stages) {
      if (s.base.kind !== 'image' || !included.has(s.index) || !opts.resolveImage) continue;
      const want = stagePlatforms[s.index] ?? platform;
      const f = await opts.resolveImage(s.base.ref, want);
      facts.set(s.index, f);
      if (f?.os && f.architecture && (f.os !== want.os || f.architecture !== want.architecture)) {
        const fmt = (p: { os?: string; architecture?: string; variant?: string }) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
        fire('InvalidBaseImagePlatform', s.fromNode.range, MESSAGES.InvalidBaseImagePlatform(s.from.image, fmt(want), fmt(f)));
      }
    }

    // Dispatch: each included stage's commands, in stage order.
    const matcher = opts.ignorePatterns?.length ? PatternMatcher.compile(opts.ignorePatterns, { file: '.dockerignore' }) : undefined;
    const rootIgnored = matcher?.patterns.some((p) => !p.exclusion && ['*', '**', '**/*'].includes(p.cleaned)) ?? false;
    const states = new Map<number, StageState>();
    const baseOutline: OutlineCapture = { allArgs: meta.infos, usedArgs: new Set(), secrets: new Map(), ssh: new Map() };
    // Each stage starts from the global outline, or its base stage's as it was before dispatch (addState).
    const stageOutline: OutlineCapture[] = [];
    for (const s of plan.stages) {
      const o = cloneOutline(s.base.kind === 'stage' ? stageOutline[s.base.index]! : baseOutline);
      for (const k of fromUsed[s.index]!) o.usedArgs.add(k);
      stageOutline.push(o);
    }
    for (const s of plan.stages) {
      if (!included.has(s.index)) continue;
      let st: StageState;
      if (s.base.kind === 'stage') {
        const b = states.get(s.base.index);
        st = b
          ? { env: new Map(b.env), envKnown: b.envKnown, declared: [...b.declared], shell: [...b.shell], workdirSet: b.workdirSet, outline: stageOutline[s.index]! }
          : { env: new Map([['PATH', DEFAULT_PATH]]), envKnown: false, declared: [], shell: [], workdirSet: false, outline: stageOutline[s.index]! };
      } else {
        const f = s.base.kind === 'image' ? facts.get(s.index) : undefined;
        const env = new Map<string, string>();
        for (const kv of f?.config?.Env ?? []) {
          const eq = kv.indexOf('=');
          env.set(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? '' : kv.slice(eq + 1));
        }
        if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
        st = { env, envKnown: s.base.kind === 'scratch' || f !== undefined, declared: [], shell: [...(f?.config?.Shell ?? [])], workdirSet: false, outline: stageOutline[s.index]! };
      }
      states.set(s.index, st);
      const trackers: Record<'CMD' | 'ENTRYPOINT' | 'HEALTHCHECK', Range | undefined> = { CMD: undefined, ENTRYPOINT: undefined, HEALTHCHECK: undefined };
      for (const cmd of s.commands) {
        const i = index.get(cmd.node)!;
        const range = cmd.node.range;
        const report = (unmatched: Iterable<string>) => {
          if (!st.envKnown) return;
          for (const v of unmatched) {
            if (st.declared.includes(v) || NON_ENV_ARGS.has(v)) continue;
            fire('UndefinedVar', range, MESSAGES.UndefinedVar(v, suggestName(v, st.env.keys())), i);
          }
        };
        const word = (w: string | undefined): string => {
          if (w === undefined) return '';
          try {
            const r = lex.processWordWithMatches(w, st.env);
            report(r.unmatched);
            return r.result;
          } catch (e) {
            throw new Stop(errorOf(e, range));
          }
        };
        const raw = (data: string) => {
          for (const m of data.matchAll(VAR_REF)) word(m[0]);
        };
        const secret = (instruction: string, key: string) => {
          if (SECRET_DENY.test(key) && !SECRET_ALLOW.test(key)) fire('SecretsUsedInArgOrEnv', range, MESSAGES.SecretsUsedInArgOrEnv(instruction, key), i);
        };
        const usedOnce = (kind: 'CMD' | 'ENTRYPOINT' | 'HEALTHCHECK') => {
          const prev = trackers[kind];
          if (prev) fire('MultipleInstructionsDisallowed', prev, MESSAGES.MultipleInstructionsDisallowed(cmd.node.keyword), i);
          trackers[kind] = range;
        };
        switch (cmd.kind) {
          case 'ARG':
            for (const a of cmd.args) {
              secret('ARG', a.name);
              const hasValue = Object.prototype.hasOwnProperty.call(buildArgs, a.name);
              let value: string | undefined;
              let inherited = false;
              if (a.value === undefined && !hasValue && globalArgs.has(a.name)) {
                value = globalArgs.get(a.name);
                inherited = true;
              }
              if (hasValue) value = buildArgs[a.name];
              else if (a.value !== undefined) value = word(a.value);
              if (value !== undefined && !NON_ENV_ARGS.has(a.name)) st.env.set(a.name, value);
              if (!inherited) st.outline.allArgs.set(a.name, { name: a.name, value: value ?? '', description: docComment(comments[i]!, a.name), line: range.start.line, deps: new Set() });
              st.outline.usedArgs.add(a.name);
              st.declared.push(a.name);
            }
            break;
          case 'ENV': {
            // Every pair is expanded with the environment before the instruction, then set.
            const pairs = cmd.env.map((p) => ({ key: word(p.key), value: word(p.value) }));
            for (const [j, p] of pairs.entries()) {
              if (cmd.node.pairs[j]?.sep === '') fire('LegacyKeyValueFormat', range, MESSAGES.LegacyKeyValueFormat(cmd.node.keyword), i);
              secret('ENV', p.key);
              st.env.set(p.key, p.value);
            }
            break;
          }
          case 'LABEL':
            for (const [j, p] of cmd.labels.entries()) {
              word(p.key);
              word(p.value);
              if (cmd.node.pairs[j]?.sep === '') fire('LegacyKeyValueFormat', range, MESSAGES.LegacyKeyValueFormat(cmd.node.keyword), i);
            }
            break;
          case 'CMD':
          case 'ENTRYPOINT':
            usedOnce(cmd.kind);
            if (cmd.prependShell && st.shell.length === 0) fire('JSONArgsRecommended', range, MESSAGES.JSONArgsRecommended(cmd.node.keyword), i);
            break;
          case 'HEALTHCHECK':
            usedOnce('HEALTHCHECK');
            break;
          case 'SHELL':
            st.shell = [...cmd.shell];
            break;
          case 'WORKDIR': {
            const p = word(cmd.path);
            if (!st.workdirSet && !p.startsWith('/')) fire('WorkdirRelativePath', range, MESSAGES.WorkdirRelativePath(p), i);
            st.workdirSet = true;
            break;
          }
          case 'USER':
            word(cmd.user);
            break;
          case 'STOPSIGNAL':
            word(cmd.signal);
            break;
          case 'VOLUME':
            for (const v of cmd.volumes) word(v);
            break;
          case 'EXPOSE':
            for (const p of cmd.ports) {
              let words: string[];
              try {
                words = lex.processWords(p, st.env);
              } catch (e) {
                throw new Stop(errorOf(e, range));
              }
              for (const w of words) {
                const e = exposeParts(w);
                if (!e) continue;
                if (e.proto !== e.proto.toLowerCase()) fire('ExposeProtoCasing', range, MESSAGES.ExposeProtoCasing(w), i);
                if (e.ip !== '' || e.hostPort !== '') fire('ExposeInvalidFormat', range, MESSAGES.ExposeInvalidFormat(w), i);
              }
            }
            break;
          case 'COPY':
          case 'ADD': {
            word(cmd.chown);
            word(cmd.chmod);
            if (cmd.kind === 'ADD') word(cmd.checksum);
            const paths = cmd.paths.map((p) => word(p));
            word(cmd.dest);
            for (const c of cmd.contents) if (c.expand) raw(c.data);
            if (matcher && !matcher.hasExclusions && !(cmd.kind === 'COPY' && cmd.from !== undefined)) {
              for (const p of paths) {
                if (/^https?:\/\//.test(p) || /^git@|^git:\/\/|^ssh:\/\/|\.git(#|$)/.test(p)) continue;
                const src = goClean(p);
                if ((src === '.' || src === '/') && !rootIgnored) continue;
                if (matcher.matchesOrParentMatches(src)) fire('CopyIgnoredFile', range, MESSAGES.CopyIgnoredFile(cmd.kind === 'ADD' ? 'Add' : 'Copy', src), i);
              }
            }
            break;
          }
          case 'RUN':
            for (const m of cmd.mountFlags) {
              const v = word(m);
              let spec;
              try {
                spec = parseMount(v);
              } catch {
                continue; // the build reports it
              }
              if (spec.type === 'secret') {
                const id = spec.source || spec.id || (spec.target ? spec.target.split('/').filter(Boolean).pop() ?? '' : '');
                if (id && !st.outline.secrets.has(id)) st.outline.secrets.set(id, { required: spec.required, line: range.start.line });
              } else if (spec.type === 'ssh') {
                const id = spec.id || 'default';
                if (!st.outline.ssh.has(id)) st.outline.ssh.set(id, { required: spec.required, line: range.start.line });
              }
            }
            break;
          case 'MAINTAINER':
          case 'ONBUILD':
            break;
        }
      }
    }

    // The outline of the target (BuildKit's dispatchState.Outline).
    const target = plan.stages[plan.target]!;
    outlineOut.name = target.name ?? '';
    outlineOut.description = docComment(comments[index.get(target.fromNode)!]!, target.name ?? '');
    const visitedArgs = new Set<string>();
    const visitedSecrets = new Set<string>();
    const visitedSsh = new Set<string>();
    const visitedStages = new Set<number>();
    // Depth first, in dependency order, without recursion (a chain of thousands of stages).
    const pending = [plan.target];
    while (pending.length > 0) {
      const idx = pending.pop()!;
      if (visitedStages.has(idx)) continue;
      visitedStages.add(idx);
      const o = stageOutline[idx]!;
      const mark = (keys: Iterable<string>, seenKeys: Set<string>) => {
        for (const k of keys) {
          if (seenKeys.has(k)) continue;
          seenKeys.add(k);
          const a = o.allArgs.get(k);
          if (a) mark(a.deps, seenKeys);
          o.usedArgs.add(k);
        }
      };
      mark([...o.usedArgs], new Set());
      for (const k of o.usedArgs) {
        const a = o.allArgs.get(k);
        if (a && !visitedArgs.has(k)) {
          outlineOut.args.push({ name: a.name, value: a.value, description: a.description, line: a.line });
          visitedArgs.add(k);
        }
      }
      for (const [k, v] of o.secrets) if (!visitedSecrets.has(k)) (visitedSecrets.add(k), outlineOut.secrets.push({ name: k, ...v }));
      for (const [k, v] of o.ssh) if (!visitedSsh.has(k)) (visitedSsh.add(k), outlineOut.ssh.push({ name: k, ...v }));
      pending.push(...[...plan.stages[idx]!.deps].reverse());
    }
    const byLine = (a: { line: number }, b: { line: number }) => a.line - b.line;
    outlineOut.args.sort(byLine);
    outlineOut.secrets.sort(byLine);
    outlineOut.ssh.sort(byLine);
  } catch (e) {
    if (e instanceof Stop) return finish(e.checkError);
    throw e;
  }
  return finish();
}

/** The warnings in BuildKit's print order: by line, stable. */
export function sortedWarnings(warnings: readonly CheckWarning[]): CheckWarning[] {
  return [...warnings].sort((a, b) => a.range.start.line - b.range.start.line);
}

/**
 * BuildKit's errdefs Source.Print: `file:line`, a dashed rule, the lines of `range` marked `>>>`
 * with context (4 lines around a one-line range, 2 around a longer one), a dashed rule.
 */
export function sourceExcerpt(file: string, text: string, range: Range): string {
  const lines = text.split('\n');
  let start = range.start.line;
  let end = Math.max(range.end.line, start);
  if (range.end.line > range.start.line && range.end.col <= 1) end--;
  if (start > lines.length || start < 1) return '';
  end = Math.min(end, lines.length);
  const first = start;
  const last = end;
  const pad = end === start ? 4 : 2;
  for (let p = 0; p < pad; ) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
    p++;
  }
  let out = `${file}:${first}\n--------------------\n`;
  for (let l = start; l <= end; l++) out += ` ${String(l).padStart(3)} | ${l >= first && l <= last ? '>>>' : '   '} ${lines[l - 1]}\n`;
  return `${out}--------------------\n`;
}

/**
 * What `mybuild build --check` prints (buildx's printResult for `--call=check`) and its exit
 * code. Text: "Check complete, N warnings have been found!", then each warning (rule, URL,
 * message, excerpt), or "Check complete, no warnings found."; `format: 'json'`: BuildKit's lint
 * result (`warnings`, `sources`, `buildError`). `stdout` is the report; `stderr` the error (as
 * buildx prints it: "ERROR: " message and excerpt) when the checks met one. Exit 1 when a
 * warning fired (0 with `ignoreStatus`) or an error was found, else 0.
 */
export function formatCheckReport(result: CheckResult, text: string, opts: { format?: 'text' | 'json'; ignoreStatus?: boolean; file?: string } = {}): { stdout: string; stderr: string; exitCode: number } {
  const ws = sortedWarnings(result.warnings);
  const file = opts.file ?? ws[0]?.file ?? 'Dockerfile';
  let stdout = '';
  if (opts.format === 'json') {
    stdout = `${JSON.stringify(lintJSON(result, text, file), null, 2)}\n`;
  } else {
    if (ws.length) stdout += `Check complete, ${ws.length === 1 ? '1 warning has been found!' : `${ws.length} warnings have been found!`}\n`;
    for (const w of ws) stdout += `\nWARNING: ${w.rule}${w.url ? ` - ${w.url}` : ''}\n${w.message}\n${sourceExcerpt(w.file, text, w.range)}`;
    if (result.error && ws.length) stdout += '\n';
    else if (!result.error && !ws.length) stdout += 'Check complete, no warnings found.\n';
  }
  const stderr = result.error ? `ERROR: ${result.error.message}\n${result.error.range ? sourceExcerpt(file, text, result.error.range) : ''}` : '';
  const exitCode = result.error || (ws.length && !opts.ignoreStatus) ? 1 : 0;
  return { stdout, stderr, exitCode };
}

/** A source location as BuildKit's JSON has it (pb.Location: lines only, as the parser gives them). */
export function locationJSON(range: Range, sourceIndex?: number): Record<string, unknown> {
  return { ...(sourceIndex ? { sourceIndex } : {}), ranges: [{ start: { line: range.start.line }, end: { line: Math.max(range.end.line, range.start.line) } }] };
}

/** BuildKit's lint.LintResults as JSON (`--call=check,format=json`). */
function lintJSON(result: CheckResult, text: string, file: string): Record<string, unknown> {
  return {
    warnings: result.warnings.map((w) => ({ ruleName: w.rule, ...(w.description ? { description: w.description } : {}), ...(w.url ? { url: w.url } : {}), ...(w.message ? { detail: w.message } : {}), location: locationJSON(w.range) })),
    sources: [{ filename: file, language: 'Dockerfile', data: Buffer.from(text).toString('base64') }],
    ...(result.error ? { buildError: { message: result.error.message, location: result.error.range ? locationJSON(result.error.range) : {} } } : {}),
  };
}

/** A build's warning line (BuildKit's LintFormatShort): `Rule: message (line N)`. */
export function shortWarning(w: CheckWarning): string {
  return `${w.rule}: ${w.message}${w.range.start.line > 0 ? ` (line ${w.range.start.line})` : ''}`;
}
