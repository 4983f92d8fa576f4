/**
 * The typed build plan: global ARGs, stages with their commands, the stage graph and the order
 * the stages of `--target` must be built in (BuildKit's instructions.Parse + the stage-graph part
 * of dockerfile2llb).
 *
 * - ARGs before the first FROM are global: usable in FROM lines only (and re-declarable in a stage).
 *   Predefined platform args (TARGETPLATFORM, BUILDARCH, …) are global too.
 * - FROM is expanded with the global args; `FROM scratch` is the empty base; a FROM naming an
 *   earlier stage (case-insensitively) builds on it.
 * - `COPY --from` and `RUN --mount=from=` name a stage (by name or index) or an image.
 * - Only the stages the target needs are in `order`, dependencies first.
 *
 * Pure: no fs, env or clock; the host platform is only read when `buildPlatform` is not given.
 */
import { BuildError, PlanError } from '../errors.js';
import { formatPlatform, hostPlatform } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import type { Range } from '../oci/range.js';
import type { Dockerfile, FromNode } from '../parser/ast.js';
import type { Command, FromHeader, FromSource } from './commands.js';
import type { ParseContext } from './instructions.js';
import { suggest } from './suggest.js';
import { parseCommand, parseFrom, planError } from './instructions.js';
import { ShellLex } from './shell-lex.js';
import { checkSyntaxDirective } from './syntax-directive.js';
import { isProxyArg, StageEnv } from './stage-env.js';

export interface PlanOptions {
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** `--target`: the stage to build (default: the last one). Case-insensitive. */
  target?: string;
  /** The target platform (default: buildPlatform). */
  platform?: Platform;
  /** The platform the build runs on (default: the host's). */
  buildPlatform?: Platform;
  /** The Dockerfile text, so error excerpts print. */
  text?: string;
}

export type StageBase = { kind: 'scratch' } | { kind: 'image'; ref: string } | { kind: 'stage'; index: number };

export interface Stage {
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  base: StageBase;
  /** The expanded `FROM --platform` value, if any. */
  platform?: string;
  /** The commands, unexpanded (the builder expands each with its StageEnv before running it). */
  commands: Command[];
  from: FromHeader;
  fromNode: FromNode;
  /** Indices of the stages this one needs (base, COPY --from, RUN --mount from), sorted. */
  deps: number[];
  /** Images named by COPY --from / RUN --mount from (not the base image), in first-use order. */
  externalImages: string[];
}

export interface Plan {
  stages: Stage[];
  /** Index of the target stage. */
  target: number;
  /** The stages the target needs, each after its dependencies (the target last). */
  order: number[];
  /** The global scope: global ARGs (after build args) and the predefined args. */
  globalArgs: ReadonlyMap<string, string | undefined>;
  /** Predefined ARG values (TARGETPLATFORM, …, BUILDVARIANT, TARGETSTAGE). */
  predefinedArgs: ReadonlyMap<string, string>;
  /** Warnings, e.g. `[Warning] One or more build-args [X] were not consumed`. */
  warnings: string[];
}

/** The predefined platform ARGs for a build. */
export function predefinedArgs(platform: Platform, buildPlatform: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(platform)],
    ['TARGETOS', platform.os],
    ['TARGETARCH', platform.architecture],
    ['TARGETVARIANT', platform.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(buildPlatform)],
    ['BUILDOS', buildPlatform.os],
    ['BUILDARCH', buildPlatform.architecture],
    ['BUILDVARIANT', buildPlatform.variant ?? ''],
  ]);
}

function wrap(ctx: ParseContext, range: Range, e: unknown): never {
  if (e instanceof BuildError && !e.source) throw planError(ctx, range, e.message, e.hint);
  throw e;
}

/**
 * Builds the plan for `ast`. Throws PlanError (with source ranges) for invalid instructions,
 * commands before the first FROM, bad or duplicate stage names, unknown `--target`, a stage
 * referring to itself or a later stage, and expansion errors in FROM or COPY --from.
 */
export function buildPlan(ast: Dockerfile, opts: PlanOptions = {}): Plan {
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  const platform = opts.platform ?? buildPlatform;
  const predefined = predefinedArgs(platform, buildPlatform);
  const scope: PlanScope = {
    ctx: { ast, ...(opts.text !== undefined ? { text: opts.text } : {}) },
    lex: new ShellLex(ast.escapeToken),
    buildArgs: opts.buildArgs ?? {},
    usedBuildArgs: new Set<string>(),
  };
  checkSyntaxDirective(scope.ctx, ast);
  const { globalArgs, stagesRaw } = globalScope(scope, ast, predefined);
  if (stagesRaw.length === 0) {
    throw new PlanError('the Dockerfile has no FROM instruction: nothing to build', { hint: 'start the Dockerfile with FROM <image> (or FROM scratch)', source: { file: ast.file, range: { start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } }, ...(opts.text !== undefined ? { text: opts.text } : {}) } });
  }
  const { stages, byName } = planStages(scope, stagesRaw, definedOnly(globalArgs));
  const stageUsed = resolveSources(scope, stages, byName, globalArgs);
  const { target, order } = targetAndOrder(opts.target, stages, byName);
  // BuildKit's predefined TARGETSTAGE: the target stage's name, "default" when it has none;
  // like the platform args, a stage sees it after `ARG TARGETSTAGE`.
  const targetStage = stages[target]!.name ?? 'default';
  predefined.set('TARGETSTAGE', targetStage);
  if (globalArgs.get('TARGETSTAGE') === undefined) globalArgs.set('TARGETSTAGE', targetStage);

  // Unused build args (BuildKit's warning), counting only the stages that are built.
  const usedBuildArgs = scope.usedBuildArgs;
  const buildArgs = scope.buildArgs;
  for (const i of order) for (const n of stageUsed[i]!) usedBuildArgs.add(n);
  const unused = Object.keys(buildArgs)
    .filter((k) => !usedBuildArgs.has(k) && !isProxyArg(k))
    .sort();
  const warnings: string[] = [];
  if (unused.length > 0) warnings.push(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);

  return { stages, target, order, globalArgs, predefinedArgs: predefined, warnings };
}

/** A stage as parsed: its FROM and its commands. */
type RawStage = { header: FromHeader; commands: Command[] };

/** What the parts of buildPlan share. */
interface PlanScope {
  ctx: ParseContext;
  lex: ShellLex;
  buildArgs: Record<string, string>;
  /** Build args consumed so far (global ARGs; the stages' are counted per built stage). */
  usedBuildArgs: Set<string>;
}

/** The global scope (predefined args, then the ARGs before the first FROM) and each stage's header and commands. */
function globalScope(scope: PlanScope, ast: Dockerfile, predefined: ReadonlyMap<string, string>): { globalArgs: Map<string, string | undefined>; stagesRaw: RawStage[] } {
  const { ctx, lex, buildArgs, usedBuildArgs } = scope;
  const globalArgs = new Map<string, string | undefined>(predefined);
  const stagesRaw: RawStage[] = [];
  for (const node of ast.instructions) {
    if (node.kind === 'FROM') {
      stagesRaw.push({ header: parseFrom(node, ctx), commands: [] });
      continue;
    }
    const cmd = parseCommand(node, ctx);
    const cur = stagesRaw[stagesRaw.length - 1];
    if (cur) {
      cur.commands.push(cmd);
      continue;
    }
    if (cmd.kind !== 'ARG') {
      throw planError(ctx, node.range, 'no build stage in current context', `a Dockerfile starts with FROM (only ARG may come before it); ${node.keyword.toUpperCase()} is not allowed there`);
    }
    // A global ARG: build arg wins, else the default expanded with the global args so far.
    for (const a of cmd.args) {
      let value: string | undefined;
      if (Object.prototype.hasOwnProperty.call(buildArgs, a.name)) {
        value = buildArgs[a.name];
        usedBuildArgs.add(a.name);
      } else if (a.value !== undefined) {
        try {
          value = lex.processWord(a.value, definedOnly(globalArgs));
        } catch (e) {
          wrap(ctx, node.range, e);
        }
      } else if (globalArgs.has(a.name)) {
        value = globalArgs.get(a.name);
      }
      globalArgs.set(a.name, value);
    }
  }
  return { globalArgs, stagesRaw };
}

/** Stages: names (unique), bases (FROM expanded with the global args: a stage, scratch or an image), platforms. */
function planStages(scope: PlanScope, stagesRaw: RawStage[], globalVars: ReadonlyMap<string, string>): { stages: Stage[]; byName: Map<string, number> } {
  const { ctx, lex } = scope;
  const stages: Stage[] = [];
  const byName = new Map<string, number>();
  for (const [index, { header, commands }] of stagesRaw.entries()) {
    if (header.name !== undefined) {
      if (byName.has(header.name)) {
        throw planError(ctx, header.node.args[2]!.range, `duplicate stage name ${JSON.stringify(header.name)}`, `stage ${byName.get(header.name)} is already named ${header.name}; stage names are case-insensitive`);
      }
    }
    let image: string;
    let stagePlatform: string | undefined;
    try {
      image = lex.processWord(header.image, globalVars);
      if (header.platform !== undefined) stagePlatform = lex.processWord(header.platform, globalVars);
    } catch (e) {
      wrap(ctx, header.node.range, e);
    }
    if (image === '') {
      throw planError(ctx, header.node.args[0]!.range, `base name (${header.image}) should not be blank`, 'a global ARG used in FROM must have a value: declare it before the first FROM with a default, or pass --build-arg');
    }
    let base: StageBase;
    const ref = byName.get(image.toLowerCase());
    if (ref !== undefined) base = { kind: 'stage', index: ref };
    else if (image === 'scratch') base = { kind: 'scratch' };
    else base = { kind: 'image', ref: image };
    const stage: Stage = {
      index,
      ...(header.name !== undefined ? { name: header.name } : {}),
      base,
      ...(stagePlatform !== undefined ? { platform: stagePlatform } : {}),
      commands,
      from: header,
      fromNode: header.node,
      deps: base.kind === 'stage' ? [base.index] : [],
      externalImages: [],
    };
    stages.push(stage);
    if (header.name !== undefined) byName.set(header.name, index);
  }

  return { stages, byName };
}

const NO_VARS: ReadonlyMap<string, string> = new Map();

/**
 * Dependencies from COPY --from and RUN --mount from, stored on the commands as FromSource.
 * --from is taken as written (a variable in it is refused, as BuildKit). Returns the build args
 * each stage consumed.
 */
function resolveSources(scope: PlanScope, stages: Stage[], byName: ReadonlyMap<string, number>, globalArgs: ReadonlyMap<string, string | undefined>): Set<string>[] {
  const { ctx, lex, buildArgs } = scope;
  const eopts = { file: ctx.ast.file, ...(ctx.text !== undefined ? { text: ctx.text } : {}) };
  const stageUsed: Set<string>[] = [];
  for (const stage of stages) {
    const env = new StageEnv({ lex, globalArgs, buildArgs, ...eopts });
    const resolveRef = (raw: string, range: Range, what: string): FromSource => {
      const lower = raw.toLowerCase();
      let idx: number | undefined = byName.get(lower);
      if (idx === undefined && /^[0-9]+$/.test(raw)) {
        idx = Number(raw);
        if (idx >= stages.length) {
          throw planError(ctx, range, `invalid ${what} value ${raw}: index out of bounds`, `there are ${stages.length} stages (0 to ${stages.length - 1})`);
        }
      }
      if (idx === undefined) {
        if (!stage.externalImages.includes(raw)) stage.externalImages.push(raw);
        return { kind: 'image', ref: raw };
      }
      if (idx === stage.index) throw planError(ctx, range, `${what} refers to the stage it is in (${stageLabel(stages[idx]!)})`, 'a stage cannot copy from itself; name an earlier stage');
      if (idx > stage.index) {
        throw planError(ctx, range, `${what} refers to stage ${stageLabel(stages[idx]!)}, which is defined after this stage`, 'move that stage before this one in the Dockerfile');
      }
      if (!stage.deps.includes(idx)) stage.deps.push(idx);
      return { kind: 'stage', index: idx };
    };
    for (const cmd of stage.commands) {
      if (cmd.kind === 'ARG') {
        try {
          env.applyArg(cmd);
        } catch {
          /* the builder reports it with the real image env */
        }
      } else if (cmd.kind === 'ENV') {
        try {
          env.applyEnv(cmd);
        } catch {
          /* idem */
        }
      } else if (cmd.kind === 'COPY' && cmd.from !== undefined) {
        const range = cmd.node.flags.find((f) => f.name === 'from')?.range ?? cmd.node.range;
        // BuildKit (dockerfile2llb toCommand) processes --from with no variables at all and
        // refuses it when that changes the word: --from is never expanded, not even by an ARG.
        let from: string;
        try {
          from = lex.processWord(cmd.from, NO_VARS);
        } catch (e) {
          wrap(ctx, range, e);
        }
        if (from !== cmd.from) {
          throw planError(ctx, range, 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround', `e.g. ARG SRC=build before the first FROM, then FROM \${SRC} AS src and COPY --from=src`);
        }
        if (from !== '') cmd.source = resolveRef(from, range, `COPY --from=${from}`);
      } else if (cmd.kind === 'RUN') {
        for (const from of cmd.mountFroms) {
          const range = cmd.node.flags.find((f) => f.name === 'mount' && f.value !== null && f.value.includes(from))?.range ?? cmd.node.range;
          (cmd.mountSources ??= {})[from] = resolveRef(from, range, `RUN --mount from=${from}`);
        }
      }
    }
    stage.deps.sort((a, b) => a - b);
    stageUsed.push(env.usedBuildArgs);
  }

  return stageUsed;
}

/** The target stage (--target, else the last) and the stages it needs, dependencies first. */
function targetAndOrder(wanted: string | undefined, stages: Stage[], byName: ReadonlyMap<string, number>): { target: number; order: number[] } {
  let target = stages.length - 1;
  if (wanted !== undefined) {
    const t = byName.get(wanted.toLowerCase());
    if (t === undefined) {
      const names = [...byName.keys()];
      const near = suggest(wanted, names);
      // As BuildKit's suggest.WrapError: the suggestion is part of the message.
      throw new PlanError(`target stage ${JSON.stringify(wanted)} could not be found${near ? ` (did you mean ${near}?)` : ''}`, {
        hint: names.length ? `stages: ${names.join(', ')}` : 'no stage has a name (use FROM <image> AS <name>)',
      });
    }
    target = t;
  }
  const order: number[] = [];
  const seen = new Set<number>();
  const visit = (i: number): void => {
    if (seen.has(i)) return;
    seen.add(i);
    for (const d of stages[i]!.deps) visit(d);
    order.push(i);
  };
  visit(target);

  return { target, order };
}

function stageLabel(s: Stage): string {
  return s.name !== undefined ? `${JSON.stringify(s.name)} (${s.index})` : String(s.index);
}

function definedOnly(m: ReadonlyMap<string, string | undefined>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of m) if (v !== undefined) out.set(k, v);
  return out;
}
