/**
 * ARG/ENV scoping inside one build stage, as BuildKit's dispatchArg/dispatchEnv keep it.
 *
 * - A stage starts with the base image's Env and no ARGs; one based on another stage starts with
 *   that stage's ARGs too (BuildKit's state env and buildArgs carry over `FROM <stage>`).
 * - `ARG name` without a value and no build arg or global keeps a value the name already has.
 * - `ARG name` re-declares a global ARG (or a predefined one such as TARGETPLATFORM) and takes
 *   its value; `--build-arg name=v` overrides any default; `ARG name=default` expands its default
 *   with the variables in scope.
 * - Words and RUN see BuildKit's state env: the image Env, then every ENV and every ARG with a
 *   value in Dockerfile order, the later one winning (`ARG V=1` then `ENV V=2` gives 2; `ENV V=2`
 *   then `ARG V=1` gives 1, while the config Env keeps V=2).
 * - Proxy args (HTTP_PROXY, …) given as build args are set in RUN, in both spellings, without an
 *   ARG, and are never written to history or cache keys.
 *
 * Not thread-safe; one instance per stage per build.
 */
import type { ArgCommand, EnvCommand, Command } from './commands.js';
import { expandCommand, type ExpandOptions, type ExpandResult } from './expand.js';
import type { ShellLex } from './shell-lex.js';

/** The proxy args Docker accepts without an ARG declaration (excluded from history). */
export const PROXY_ARGS: readonly string[] = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export function isProxyArg(name: string): boolean {
  return PROXY_ARGS.includes(name);
}

export interface StageEnvOptions extends ExpandOptions {
  lex: ShellLex;
  /**
   * The global scope: ARGs declared before the first FROM (value after build args and
   * expansion; undefined when declared without a value) and the predefined platform args.
   */
  globalArgs: ReadonlyMap<string, string | undefined>;
  buildArgs?: Readonly<Record<string, string>>;
  /** The base image's config Env (`K=V` strings), in order. */
  imageEnv?: readonly string[];
  /** The stage this one is based on (`FROM <stage>`): its ARGs are inherited. */
  parent?: StageEnv;
}

/** One ARG after applyArg: its effective value (undefined: declared without any value). */
export interface ResolvedArg {
  name: string;
  value?: string;
}

/** Keeps the running environment of one stage. See the file comment for the rules. */
export class StageEnv {
  private readonly lex: ShellLex;
  private readonly globalArgs: ReadonlyMap<string, string | undefined>;
  private readonly buildArgs: Readonly<Record<string, string>>;
  private readonly opts: ExpandOptions;
  private readonly envMap = new Map<string, string>();
  private readonly argMap = new Map<string, string>();
  /** BuildKit's state env: image Env, ENVs and ARG values, the last one set winning. */
  private readonly stateMap = new Map<string, string>();
  /** Every ARG name declared in this stage (and the ones it is based on), first declaration first. */
  private readonly declared = new Set<string>();
  /** Build-arg names this stage consumed (declared with ARG, or proxy args). */
  readonly usedBuildArgs = new Set<string>();

  constructor(opts: StageEnvOptions) {
    this.lex = opts.lex;
    this.globalArgs = opts.globalArgs;
    this.buildArgs = opts.buildArgs ?? {};
    this.opts = { ...(opts.file !== undefined ? { file: opts.file } : {}), ...(opts.text !== undefined ? { text: opts.text } : {}) };
    for (const kv of opts.imageEnv ?? []) {
      const eq = kv.indexOf('=');
      if (eq < 0) this.envMap.set(kv, '');
      else this.envMap.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    for (const [k, v] of this.envMap) this.stateMap.set(k, v);
    for (const p of PROXY_ARGS) if (Object.prototype.hasOwnProperty.call(this.buildArgs, p)) this.usedBuildArgs.add(p);
    if (opts.parent) {
      for (const [k, v] of opts.parent.argMap) this.argMap.set(k, v);
      for (const k of opts.parent.declared) this.declared.add(k);
      for (const [k, v] of opts.parent.stateMap) this.stateMap.set(k, v);
    }
  }

  /** Variables for word expansion and RUN: the state env (image Env, ENV, ARG; the last one set wins). */
  get vars(): ReadonlyMap<string, string> {
    return new Map(this.stateMap);
  }

  /** The config Env (image Env + ENV), in insertion order. */
  get env(): ReadonlyMap<string, string> {
    return this.envMap;
  }

  /** ARG values in scope (declared in this stage and given a value). */
  get args(): ReadonlyMap<string, string> {
    return this.argMap;
  }

  /**
   * The `|N NAME=value …` words BuildKit puts before a RUN's command in its history (its
   * runCommandString): every ARG declared in scope once, in first-declaration order, with the
   * value it expands to now (empty when it has none); none when no ARG is in scope.
   */
  get historyArgs(): string[] {
    if (this.declared.size === 0) return [];
    const vars = this.vars;
    return [`|${this.declared.size}`, ...[...this.declared].map((k) => `${k}=${vars.get(k) ?? ''}`)];
  }

  /**
   * The proxy variables a RUN gets, as BuildKit's proxyEnvFromBuildArgs and proxyEnvList: each
   * of the five given in either spelling (the lowercase one wins when both are) and not empty is
   * set in both, `HTTP_PROXY=v` then `http_proxy=v`, in the order http, https, ftp, no, all.
   */
  get proxyEnv(): string[] {
    const out: string[] = [];
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY']) {
      const v = this.buildArgs[name.toLowerCase()] ?? this.buildArgs[name];
      if (v) out.push(`${name}=${v}`, `${name.toLowerCase()}=${v}`);
    }
    return out;
  }

  /**
   * Applies an ARG (unexpanded, as parseCommand returns it). Returns each arg's effective value.
   * Throws PlanError when a default does not expand.
   */
  applyArg(cmd: ArgCommand): ResolvedArg[] {
    const out: ResolvedArg[] = [];
    for (const a of cmd.args) {
      const hasBuildArg = Object.prototype.hasOwnProperty.call(this.buildArgs, a.name);
      let value: string | undefined;
      if (hasBuildArg) {
        value = this.buildArgs[a.name];
        this.usedBuildArgs.add(a.name);
      } else if (a.value !== undefined) {
        const one: ArgCommand = { ...cmd, args: [a] };
        value = expandCommand(one, this.lex, this.vars, this.opts).cmd.args[0]!.value;
      } else if (this.globalArgs.has(a.name)) {
        value = this.globalArgs.get(a.name);
      }
      if (value !== undefined) {
        this.argMap.set(a.name, value);
        this.stateMap.set(a.name, value);
      }
      this.declared.add(a.name);
      out.push(value === undefined ? { name: a.name } : { name: a.name, value });
    }
    return out;
  }

  /** Expands and applies an ENV; returns the expanded command. Throws PlanError. */
  applyEnv(cmd: EnvCommand): EnvCommand {
    // All pairs of one line see the variables as they were before it (Docker's documented rule:
    // `ENV abc=bye def=$abc` gives def the old abc). A key already set keeps its position.
    const expanded = expandCommand(cmd, this.lex, this.vars, this.opts).cmd;
    this.setEnv(expanded);
    return expanded;
  }

  /** Applies an ENV whose pairs are already expanded (the builder's dispatcher expands every command once). */
  setEnv(cmd: EnvCommand): void {
    for (const p of cmd.env) {
      this.envMap.set(p.key, p.value);
      this.stateMap.set(p.key, p.value);
    }
  }

  /** expandCommand with this stage's variables. */
  expand<C extends Command>(cmd: C): ExpandResult<C> {
    return expandCommand(cmd, this.lex, this.vars, this.opts);
  }
}
